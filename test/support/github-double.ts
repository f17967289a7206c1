import { createHash, createPublicKey, randomBytes, randomUUID, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { blobSha, commitSha, treeSha, type GitCommit, type GitIdentity } from './github-double-git.js';

const requireFromHere = createRequire(import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * A GitHub REST API double: a real HTTP server on 127.0.0.1 serving the routes Gatehouse uses, with
 * GitHub's response shapes (test/sync/github-double.test.ts validates them against @octokit/openapi),
 * from in-memory repositories whose blob, tree and commit SHAs are real git object ids.
 *
 * It records every request, can inject 5xx answers, dropped connections, delays and rate limits
 * (primary: x-ratelimit-remaining 0 + x-ratelimit-reset; secondary: retry-after), answers
 * conditional requests (If-None-Match → 304) and authenticates tokens or a GitHub App (RS256 JWT →
 * installation tokens) the way GitHub does.
 */

export interface RecordedRequest {
  method: string;
  /** Path without the query string, percent-decoded. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  status: number;
  /** The response's headers (rate-limit headers included), once answered. */
  responseHeaders?: Record<string, string>;
  /** Which credential was presented: a token, an app JWT, an installation token, or none. */
  auth: 'token' | 'app' | 'installation' | 'none' | 'invalid';
  at: number;
}

export type Fault =
  | { kind: 'status'; status: number; message?: string }
  | { kind: 'network' }
  | { kind: 'delay'; ms: number }
  | { kind: 'rate-limit'; type: 'primary'; status?: 403 | 429; resetInS: number }
  | { kind: 'rate-limit'; type: 'secondary'; status?: 403 | 429; retryAfterS: number };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (no query). */
  path?: RegExp;
  /** How many matching requests the fault applies to (default 1; Infinity for "until cleared"). */
  times?: number;
  fault: Fault;
}

export interface DoubleOptions {
  /** Personal access tokens accepted as `Authorization: token <t>` / `Bearer <t>`. */
  tokens?: string[];
  /** A GitHub App: JWTs signed with its private key are accepted on app endpoints. */
  app?: { appId: number; publicKeyPem: string; slug?: string };
  /** Files larger than this are served by the contents API without content (GitHub: 1 MiB). */
  largeFileThreshold?: number;
  /** Let anonymous callers read private repositories too (GitHub never does; for quick experiments). */
  allowAnonymous?: boolean;
}

interface Held {
  rule: { method?: string; path?: RegExp };
  waiting: (() => void)[];
  released: boolean;
  arrived: number;
  onArrive: (() => void)[];
}

const DOCS = 'https://docs.github.com/rest';

export interface DoubleAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
  raw_details?: string;
}

export interface DoubleCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  details_url: string | null;
  external_id: string | null;
  started_at: string;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  annotations: DoubleAnnotation[];
  /** How many requests (create + updates) carried annotations, and how many each. */
  annotationBatches: number[];
}

/**
 * The request body schema GitHub documents for creating (`post`) or updating (`patch`) a check
 * run, compiled once on first use (the OpenAPI description is 13 MB; tests that never write a
 * check run never load it).
 */
const checkRunValidators = new Map<'post' | 'patch', ValidateFunction>();
export function checkRunRequestValidator(method: 'post' | 'patch'): ValidateFunction {
  let v = checkRunValidators.get(method);
  if (v === undefined) {
    const spec = requireFromHere('@octokit/openapi/generated/api.github.com.json') as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: object }> } }>> };
    const path = method === 'post' ? '/repos/{owner}/{repo}/check-runs' : '/repos/{owner}/{repo}/check-runs/{check_run_id}';
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    v = ajv.compile(spec.paths[path]![method]!.requestBody.content['application/json']!.schema);
    checkRunValidators.set(method, v);
  }
  return v;
}

export class DoubleRepository {
  readonly fullName: string;
  readonly commits = new Map<string, GitCommit>();
  readonly blobs = new Map<string, Buffer>();
  readonly branches = new Map<string, string>();
  /** Branch → commit the ref endpoint reports instead of the real head (a lagging replica). */
  readonly staleRefs = new Map<string, string>();
  readonly statuses: { sha: string; state: string; description: string | null; context: string; target_url: string | null; id: number; created_at: string }[] = [];
  /** What a POST to /statuses answers (GitHub: 403/404 when the credential may not write statuses). */
  statusPermission: 201 | 403 | 404 = 201;
  /** Check runs created on this repository (Checks API), annotations accumulated across updates. */
  readonly checkRuns: DoubleCheckRun[] = [];
  installationId: number | undefined;
  private clock = 1_700_000_000;

  constructor(
    readonly owner: string,
    readonly name: string,
    readonly id: number,
    readonly defaultBranch: string,
    readonly isPrivate: boolean,
  ) {
    this.fullName = `${owner}/${name}`;
  }

  get nodeId(): string {
    return Buffer.from(`010:Repository${this.id}`).toString('base64');
  }

  head(branch: string): string | undefined {
    return this.branches.get(branch);
  }

  /**
   * Commits `changes` (path → new content, `null` deletes) on top of `branch` and moves the branch.
   * Returns the new commit SHA. `parent: null` starts an unrelated history (a force-push).
   * `sha` names the commit instead of hashing it: two commits whose SHAs share a prefix (an
   * abbreviated SHA that is ambiguous) would otherwise take some 2^28 tries to find.
   */
  commit(branch: string, changes: Record<string, string | Buffer | null>, opts: { message?: string; parent?: string | null; author?: Partial<GitIdentity>; sha?: string } = {}): string {
    const parentSha = opts.parent === null ? undefined : (opts.parent ?? this.branches.get(branch));
    const parent = parentSha === undefined ? undefined : this.commits.get(parentSha);
    if (parentSha !== undefined && parent === undefined) throw new Error(`unknown parent ${parentSha}`);
    const files = new Map(parent?.files ?? []);
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) {
        files.delete(path);
        continue;
      }
      const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      const sha = blobSha(buf);
      this.blobs.set(sha, buf);
      files.set(path, sha);
    }
    this.clock += 60;
    const who: GitIdentity = { name: opts.author?.name ?? 'Mona Lisa', email: opts.author?.email ?? 'mona@example.com', time: opts.author?.time ?? this.clock };
    const tree = treeSha(files);
    const parents = parent === undefined ? [] : [parent.sha];
    const message = opts.message ?? `commit ${this.commits.size + 1}`;
    const sha = opts.sha ?? commitSha(tree, parents, who, who, message);
    if (opts.sha !== undefined && this.commits.has(sha)) throw new Error(`commit ${sha} exists already`);
    this.commits.set(sha, { sha, treeSha: tree, parents, message, author: who, committer: who, files });
    this.branches.set(branch, sha);
    return sha;
  }

  /** Points `branch` at an existing commit (force-push, reset). */
  setBranch(branch: string, sha: string): void {
    if (!this.commits.has(sha)) throw new Error(`unknown commit ${sha}`);
    this.branches.set(branch, sha);
  }

  deleteBranch(branch: string): void {
    this.branches.delete(branch);
  }

  /** GitHub's garbage collection of a commit no branch reaches any more (after a force-push): it is unknown from then on. */
  forget(sha: string): void {
    for (const [branch, head] of this.branches) if (this.isAncestor(sha, head)) throw new Error(`commit ${sha} is still reachable from ${branch}`);
    this.commits.delete(sha);
  }

  fileAt(sha: string, path: string): { sha: string; content: Buffer } | undefined {
    const blob = this.commits.get(sha)?.files.get(path);
    if (blob === undefined) return undefined;
    return { sha: blob, content: this.blobs.get(blob)! };
  }

  /** Commits reachable from `sha`, newest first (first-parent order is enough for linear tests). */
  ancestors(sha: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length > 0) {
      const s = stack.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      out.push(s);
      stack.push(...(this.commits.get(s)?.parents ?? []));
    }
    return out;
  }

  isAncestor(ancestor: string, of: string): boolean {
    return this.ancestors(of).includes(ancestor);
  }
}

export class GitHubDouble {
  readonly requests: RecordedRequest[] = [];
  private readonly repos = new Map<string, DoubleRepository>();
  private faults: (FaultRule & { remaining: number })[] = [];
  private held: Held[] = [];
  private readonly installationTokens = new Map<string, { installationId: number; expiresAt: number }>();
  private readonly sockets = new Set<Socket>();
  private readonly appKey: KeyObject | undefined;
  private nextId = 1000;
  private rateLimitRemaining = 5000;
  /** Epoch seconds of the budget's reset; `enforced`: answer 403 like GitHub once it is spent. */
  private rateLimitReset = Math.ceil(Date.now() / 1000) + 3600;
  private rateLimitEnforced = false;
  private resetAfterSpentS: number | undefined;
  readonly url: string;

  private constructor(
    private readonly server: Server,
    readonly options: DoubleOptions,
  ) {
    const address = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    this.appKey = options.app === undefined ? undefined : createPublicKey(options.app.publicKeyPem);
  }

  static async start(options: DoubleOptions = {}): Promise<GitHubDouble> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const double = new GitHubDouble(server, options);
    server.on('connection', (socket) => {
      double.sockets.add(socket);
      socket.on('close', () => double.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      double.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    return double;
  }

  async close(): Promise<void> {
    for (const h of this.held) this.release(h);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  createRepo(fullName: string, opts: { defaultBranch?: string; private?: boolean; installationId?: number } = {}): DoubleRepository {
    const [owner, name] = fullName.split('/');
    if (owner === undefined || name === undefined) throw new Error(`"${fullName}" is not owner/repo`);
    const repo = new DoubleRepository(owner, name, this.nextId++, opts.defaultBranch ?? 'main', opts.private ?? true);
    repo.installationId = opts.installationId;
    this.repos.set(fullName.toLowerCase(), repo);
    return repo;
  }

  repo(fullName: string): DoubleRepository {
    const repo = this.repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`no repository ${fullName} in the double`);
    return repo;
  }

  /** Adds a fault rule; it applies to the next `times` matching requests. */
  /**
   * Gives the credential a small primary rate-limit budget, enforced as GitHub does: once
   * `remaining` reaches 0, repository calls answer 403 (x-ratelimit-remaining 0) until the reset,
   * which then restores the full budget. Off by default (the budget only counts down).
   */
  limitRate(budget: { remaining: number; resetInS: number; from?: 'now' | 'spent' }): void {
    this.rateLimitRemaining = budget.remaining;
    this.rateLimitEnforced = true;
    // `from: 'spent'`: the window ends `resetInS` after the call that spends the budget, however
    // late that call comes (on a busy machine it can come after a reset counted from now).
    this.resetAfterSpentS = budget.from === 'spent' ? budget.resetInS : undefined;
    this.rateLimitReset = Math.ceil(Date.now() / 1000) + (budget.from === 'spent' ? 3600 : budget.resetInS);
  }

  inject(rule: FaultRule): void {
    this.faults.push({ ...rule, remaining: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /**
   * Holds matching requests until `release()`: lets a test freeze a worker at a precise point
   * (e.g. while it fetches the registry file). `arrived()` resolves when one is waiting.
   */
  hold(rule: { method?: string; path?: RegExp }): { arrived(): Promise<void>; release(): void } {
    const h: Held = { rule, waiting: [], released: false, arrived: 0, onArrive: [] };
    this.held.push(h);
    return {
      arrived: () => (h.arrived > 0 ? Promise.resolve() : new Promise<void>((resolve) => h.onArrive.push(resolve))),
      release: () => this.release(h),
    };
  }

  private release(h: Held): void {
    h.released = true;
    this.held = this.held.filter((x) => x !== h);
    for (const w of h.waiting.splice(0)) w();
  }

  count(filter: { method?: string; path?: RegExp; status?: number } = {}): number {
    return this.requests.filter((r) => matches(filter, r.method, r.path) && (filter.status === undefined || r.status === filter.status)).length;
  }

  // ---------------------------------------------------------------- request handling

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', this.url);
    const path = decodeURIComponent(u.pathname);
    const method = req.method ?? 'GET';
    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(u.searchParams),
      headers: { ...req.headers },
      body,
      status: 0,
      auth: 'none',
      at: Date.now(),
    };
    this.requests.push(record);

    for (const h of this.held) {
      if (!h.released && matches(h.rule, method, path)) {
        h.arrived++;
        for (const cb of h.onArrive.splice(0)) cb();
        await new Promise<void>((resolve) => h.waiting.push(resolve));
      }
    }

    const fault = this.takeFault(method, path);
    if (fault !== undefined) {
      if (fault.kind === 'network') {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'delay') {
        await new Promise((r) => setTimeout(r, fault.ms));
      } else if (fault.kind === 'status') {
        return this.send(res, record, fault.status, { message: fault.message ?? 'Server Error' });
      } else if (fault.type === 'primary') {
        const reset = Math.ceil(Date.now() / 1000) + fault.resetInS;
        return this.send(res, record, fault.status ?? 403, {
          message: 'API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.',
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
          status: String(fault.status ?? 403),
        }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
      } else {
        return this.send(res, record, fault.status ?? 403, {
          message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          status: String(fault.status ?? 403),
        }, { 'retry-after': String(fault.retryAfterS) });
      }
    }

    const auth = this.authenticate(req.headers.authorization);
    record.auth = auth.kind;
    if (auth.kind === 'invalid') {
      return this.send(res, record, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    }

    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      if (auth.kind !== 'app') return this.requiresApp(res, record);
      return this.createInstallationToken(res, record, Number(m[1]));
    }
    m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (m === null) return this.notFound(res, record, `${DOCS}`);
    const repo = this.repos.get(`${m[1]}/${m[2]}`.toLowerCase());
    const rest = m[3] ?? '';

    if (method === 'GET' && rest === '/installation') {
      if (auth.kind !== 'app') return this.requiresApp(res, record);
      if (repo === undefined || repo.installationId === undefined) return this.notFound(res, record, `${DOCS}/apps/apps#get-a-repository-installation-for-the-authenticated-app`);
      return this.send(res, record, 200, this.installationBody(repo), {}, req);
    }

    if (repo === undefined || !this.mayRead(auth, repo)) return this.notFound(res, record, `${DOCS}/repos/repos#get-a-repository`);
    if (this.rateLimitEnforced && Date.now() / 1000 >= this.rateLimitReset) {
      this.rateLimitRemaining = 5000;
      this.rateLimitReset = Math.ceil(Date.now() / 1000) + 3600;
    }
    if (this.rateLimitEnforced && this.rateLimitRemaining === 0) {
      return this.send(res, record, 403, {
        message: 'API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.',
        documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
        status: '403',
      });
    }
    this.rateLimitRemaining = Math.max(0, this.rateLimitRemaining - 1);
    if (this.rateLimitEnforced && this.rateLimitRemaining === 0 && this.resetAfterSpentS !== undefined) {
      this.rateLimitReset = Math.ceil(Date.now() / 1000) + this.resetAfterSpentS;
      this.resetAfterSpentS = undefined;
    }

    if (method === 'GET' && (m = /^\/git\/ref\/(.+)$/.exec(rest))) return this.getRef(req, res, record, repo, m[1]!);
    if (method === 'GET' && (m = /^\/contents\/(.+)$/.exec(rest))) return this.getContent(req, res, record, repo, m[1]!, u.searchParams.get('ref'));
    if (method === 'GET' && (m = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(rest))) return this.getBlob(req, res, record, repo, m[1]!);
    if (method === 'GET' && (m = /^\/compare\/(.+)\.\.\.(.+)$/.exec(rest))) return this.compare(req, res, record, repo, m[1]!, m[2]!, u.searchParams);
    if (method === 'POST' && (m = /^\/statuses\/([0-9a-f]{40})$/.exec(rest))) return this.createStatus(res, record, repo, m[1]!, body);
    if (method === 'POST' && rest === '/check-runs') return this.writeCheckRun(res, record, repo, auth, undefined, body);
    if (method === 'PATCH' && (m = /^\/check-runs\/(\d+)$/.exec(rest))) return this.writeCheckRun(res, record, repo, auth, Number(m[1]), body);
    return this.notFound(res, record, DOCS);
  }

  private takeFault(method: string, path: string): Fault | undefined {
    for (const f of this.faults) {
      if (f.remaining > 0 && matches(f, method, path)) {
        f.remaining--;
        if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
        return f.fault;
      }
    }
    return undefined;
  }

  private authenticate(header: string | undefined): { kind: RecordedRequest['auth']; installationId?: number } {
    if (header === undefined) return { kind: 'none' };
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (m === null) return { kind: 'invalid' };
    const credential = m[1]!;
    if (this.options.tokens?.includes(credential)) return { kind: 'token' };
    const inst = this.installationTokens.get(credential);
    if (inst !== undefined && inst.expiresAt > Date.now()) return { kind: 'installation', installationId: inst.installationId };
    if (this.appKey !== undefined && this.verifyAppJwt(credential)) return { kind: 'app' };
    return { kind: 'invalid' };
  }

  /** GitHub App JWTs: RS256, `iss` = app id, `exp` at most 10 minutes after `iat`. */
  private verifyAppJwt(jwt: string): boolean {
    const parts = jwt.split('.');
    if (parts.length !== 3) return false;
    try {
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: string };
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number; iat?: number };
      if (header.alg !== 'RS256') return false;
      const ok = verifySignature('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), this.appKey!, Buffer.from(parts[2]!, 'base64url'));
      const now = Math.floor(Date.now() / 1000);
      return ok && String(claims.iss) === String(this.options.app!.appId) && typeof claims.exp === 'number' && claims.exp > now && claims.exp - (claims.iat ?? now) <= 660;
    } catch {
      return false;
    }
  }

  private mayRead(auth: { kind: RecordedRequest['auth']; installationId?: number }, repo: DoubleRepository): boolean {
    if (auth.kind === 'token') return true;
    if (auth.kind === 'installation') return repo.installationId === auth.installationId;
    // Like GitHub: anonymous callers see public repositories only (a private one is a 404).
    if (auth.kind === 'none') return !repo.isPrivate || this.options.allowAnonymous === true;
    return false;
  }

  private requiresApp(res: ServerResponse, record: RecordedRequest): void {
    this.send(res, record, 401, {
      message: 'A JSON web token could not be decoded',
      documentation_url: DOCS,
      status: '401',
    });
  }

  private notFound(res: ServerResponse, record: RecordedRequest, docs: string): void {
    this.send(res, record, 404, { message: 'Not Found', documentation_url: docs, status: '404' });
  }

  private send(res: ServerResponse, record: RecordedRequest, status: number, body: unknown, extra: Record<string, string> = {}, req?: IncomingMessage): void {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomUUID().toUpperCase(),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(this.rateLimitRemaining),
      'x-ratelimit-reset': String(this.rateLimitReset),
      'x-ratelimit-used': String(5000 - this.rateLimitRemaining),
      'x-ratelimit-resource': 'core',
      ...extra,
    };
    // GitHub tags every successful GET with an ETag and answers a matching If-None-Match with 304.
    if (status === 200 && req?.method === 'GET') {
      const etag = `W/"${createHash('sha256').update(text).digest('hex').slice(0, 40)}"`;
      headers.etag = etag;
      const inm = req.headers['if-none-match'];
      if (inm !== undefined && inm.split(',').map((s) => s.trim()).includes(etag)) {
        // A conditional hit does not count against the rate limit.
        this.rateLimitRemaining = Math.min(5000, this.rateLimitRemaining + 1);
        headers['x-ratelimit-remaining'] = String(this.rateLimitRemaining);
        delete headers['content-type'];
        record.status = 304;
        res.writeHead(304, headers);
        res.end();
        return;
      }
    }
    record.status = status;
    record.responseHeaders = headers;
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  // ---------------------------------------------------------------- routes

  private getRef(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, ref: string): void {
    const m = /^heads\/(.+)$/.exec(ref);
    const branch = m?.[1];
    const sha = branch === undefined ? undefined : (repo.staleRefs.get(branch) ?? repo.head(branch));
    if (sha === undefined) return this.notFound(res, record, `${DOCS}/git/refs#get-a-reference`);
    this.send(res, record, 200, {
      ref: `refs/${ref}`,
      node_id: Buffer.from(`03:Ref${repo.id}:refs/${ref}`).toString('base64'),
      url: `${this.url}/repos/${repo.fullName}/git/refs/${ref}`,
      object: { sha, type: 'commit', url: `${this.url}/repos/${repo.fullName}/git/commits/${sha}` },
    }, {}, req);
  }

  private getContent(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, path: string, ref: string | null): void {
    const commit = this.resolveRef(repo, ref ?? repo.defaultBranch);
    if (commit === undefined) {
      return this.send(res, record, 404, { message: `No commit found for the ref ${ref}`, documentation_url: `${DOCS}/repos/contents#get-repository-content`, status: '404' });
    }
    const file = repo.fileAt(commit, path);
    if (file === undefined) {
      const prefix = `${path}/`;
      const entries = [...repo.commits.get(commit)!.files.entries()].filter(([p]) => p.startsWith(prefix));
      if (entries.length === 0) return this.notFound(res, record, `${DOCS}/repos/contents#get-repository-content`);
      // A directory: GitHub lists its immediate children.
      const names = new Map<string, { type: 'file' | 'dir'; sha: string; size: number }>();
      for (const [p, sha] of entries) {
        const restPath = p.slice(prefix.length);
        const first = restPath.split('/')[0]!;
        if (restPath.includes('/')) names.set(first, { type: 'dir', sha: '0'.repeat(40), size: 0 });
        else names.set(first, { type: 'file', sha, size: repo.blobs.get(sha)!.length });
      }
      return this.send(res, record, 200, [...names.entries()].map(([name, e]) => this.contentEntry(repo, commit, `${prefix}${name}`, e.type, e.sha, e.size)), {}, req);
    }
    const threshold = this.options.largeFileThreshold ?? 1024 * 1024;
    const large = file.content.length > threshold;
    this.send(res, record, 200, {
      ...this.contentEntry(repo, commit, path, 'file', file.sha, file.content.length),
      // GitHub wraps base64 at 60 characters; above 1 MiB it sends no content (use the blobs API).
      content: large ? '' : wrap60(file.content.toString('base64')),
      encoding: large ? 'none' : 'base64',
    }, {}, req);
  }

  private contentEntry(repo: DoubleRepository, commit: string, path: string, type: 'file' | 'dir', sha: string, size: number) {
    const self = `${this.url}/repos/${repo.fullName}/contents/${path}?ref=${commit}`;
    const git = `${this.url}/repos/${repo.fullName}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
    const html = `${this.url}/${repo.fullName}/${type === 'file' ? 'blob' : 'tree'}/${commit}/${path}`;
    return {
      type,
      size,
      name: path.split('/').pop()!,
      path,
      sha,
      url: self,
      git_url: git,
      html_url: html,
      download_url: type === 'file' ? `${this.url}/_raw/${repo.fullName}/${commit}/${path}` : null,
      _links: { self, git, html },
    };
  }

  private resolveRef(repo: DoubleRepository, ref: string): string | undefined {
    if (/^[0-9a-f]{40}$/.test(ref) && repo.commits.has(ref)) return ref;
    return repo.head(ref.replace(/^refs\/heads\//, '').replace(/^heads\//, ''));
  }

  private getBlob(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, sha: string): void {
    const content = repo.blobs.get(sha);
    if (content === undefined) return this.notFound(res, record, `${DOCS}/git/blobs#get-a-blob`);
    this.send(res, record, 200, {
      sha,
      node_id: Buffer.from(`04:Blob${repo.id}:${sha}`).toString('base64'),
      size: content.length,
      url: `${this.url}/repos/${repo.fullName}/git/blobs/${sha}`,
      content: wrap60(content.toString('base64')),
      encoding: 'base64',
    }, {}, req);
  }

  private compare(req: IncomingMessage, res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, baseRef: string, headRef: string, query: URLSearchParams): void {
    const base = this.resolveRef(repo, baseRef);
    const head = this.resolveRef(repo, headRef);
    if (base === undefined || head === undefined) return this.notFound(res, record, `${DOCS}/commits/commits#compare-two-commits`);
    const headAncestors = repo.ancestors(head);
    const baseAncestors = repo.ancestors(base);
    const mergeBase = headAncestors.find((s) => baseAncestors.includes(s)) ?? base;
    const ahead = headAncestors.filter((s) => !baseAncestors.includes(s));
    const behind = baseAncestors.filter((s) => !headAncestors.includes(s));
    const status = base === head ? 'identical' : behind.length === 0 ? 'ahead' : ahead.length === 0 ? 'behind' : 'diverged';
    const perPage = Math.min(Number(query.get('per_page') ?? '250') || 250, 250);
    const page = Math.max(Number(query.get('page') ?? '1') || 1, 1);
    const listed = [...ahead].reverse().slice((page - 1) * perPage, page * perPage);
    const baseFiles = repo.commits.get(mergeBase)!.files;
    const headFiles = repo.commits.get(head)!.files;
    const files = [...new Set([...baseFiles.keys(), ...headFiles.keys()])]
      .filter((p) => baseFiles.get(p) !== headFiles.get(p))
      .sort()
      .map((p) => {
        const before = baseFiles.get(p);
        const after = headFiles.get(p);
        const lines = (sha: string | undefined) => (sha === undefined ? 0 : repo.blobs.get(sha)!.toString('utf8').split('\n').length);
        const additions = lines(after);
        const deletions = lines(before);
        return {
          sha: after ?? before!,
          filename: p,
          status: before === undefined ? 'added' : after === undefined ? 'removed' : 'modified',
          additions,
          deletions,
          changes: additions + deletions,
          blob_url: `${this.url}/${repo.fullName}/blob/${head}/${p}`,
          raw_url: `${this.url}/${repo.fullName}/raw/${head}/${p}`,
          contents_url: `${this.url}/repos/${repo.fullName}/contents/${p}?ref=${head}`,
        };
      });
    this.send(res, record, 200, {
      url: `${this.url}/repos/${repo.fullName}/compare/${baseRef}...${headRef}`,
      html_url: `${this.url}/${repo.fullName}/compare/${baseRef}...${headRef}`,
      permalink_url: `${this.url}/${repo.fullName}/compare/${repo.owner}:${base}...${repo.owner}:${head}`,
      diff_url: `${this.url}/${repo.fullName}/compare/${baseRef}...${headRef}.diff`,
      patch_url: `${this.url}/${repo.fullName}/compare/${baseRef}...${headRef}.patch`,
      base_commit: this.commitBody(repo, base),
      merge_base_commit: this.commitBody(repo, mergeBase),
      status,
      ahead_by: ahead.length,
      behind_by: behind.length,
      total_commits: ahead.length,
      commits: listed.map((s) => this.commitBody(repo, s)),
      files,
    }, {}, req);
  }

  private user(login: string, id: number, type: 'User' | 'Organization' | 'Bot' = 'User') {
    const api = `${this.url}/users/${login}`;
    return {
      login,
      id,
      node_id: Buffer.from(`04:User${id}`).toString('base64'),
      avatar_url: `${this.url}/_avatars/${id}`,
      gravatar_id: '',
      url: api,
      html_url: `${this.url}/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type,
      user_view_type: 'public',
      site_admin: false,
    };
  }

  private commitBody(repo: DoubleRepository, sha: string) {
    const c = repo.commits.get(sha)!;
    const api = `${this.url}/repos/${repo.fullName}`;
    const gitUser = (who: GitIdentity) => ({ name: who.name, email: who.email, date: new Date(who.time * 1000).toISOString().replace('.000Z', 'Z') });
    return {
      url: `${api}/commits/${sha}`,
      sha,
      node_id: Buffer.from(`06:Commit${repo.id}:${sha}`).toString('base64'),
      html_url: `${this.url}/${repo.fullName}/commit/${sha}`,
      comments_url: `${api}/commits/${sha}/comments`,
      commit: {
        url: `${api}/git/commits/${sha}`,
        author: gitUser(c.author),
        committer: gitUser(c.committer),
        message: c.message,
        tree: { sha: c.treeSha, url: `${api}/git/trees/${c.treeSha}` },
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
      },
      author: this.user('monalisa', 1),
      committer: this.user('monalisa', 1),
      parents: c.parents.map((p) => ({ sha: p, url: `${api}/commits/${p}`, html_url: `${this.url}/${repo.fullName}/commit/${p}` })),
    };
  }

  private createStatus(res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, sha: string, body: string): void {
    if (repo.statusPermission === 403) {
      return this.send(res, record, 403, { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/commits/statuses#create-a-commit-status`, status: '403' });
    }
    if (repo.statusPermission === 404) return this.notFound(res, record, `${DOCS}/commits/statuses#create-a-commit-status`);
    let input: { state?: unknown; description?: unknown; context?: unknown; target_url?: unknown };
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      return this.send(res, record, 400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
    }
    const state = input.state;
    if (state !== 'error' && state !== 'failure' && state !== 'pending' && state !== 'success') {
      return this.send(res, record, 422, { message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom', field: 'state', message: 'state is not included in the list' }], documentation_url: DOCS, status: '422' });
    }
    if (typeof input.description === 'string' && input.description.length > 140) {
      return this.send(res, record, 422, { message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }], documentation_url: DOCS, status: '422' });
    }
    if (!repo.commits.has(sha)) {
      return this.send(res, record, 422, { message: `No commit found for SHA: ${sha}`, documentation_url: DOCS, status: '422' });
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const id = this.nextId++;
    const entry = {
      sha,
      state,
      description: typeof input.description === 'string' ? input.description : null,
      context: typeof input.context === 'string' ? input.context : 'default',
      target_url: typeof input.target_url === 'string' ? input.target_url : null,
      id,
      created_at: now,
    };
    repo.statuses.push(entry);
    this.send(res, record, 201, {
      url: `${this.url}/repos/${repo.fullName}/statuses/${sha}`,
      avatar_url: `${this.url}/_avatars/9`,
      id,
      node_id: Buffer.from(`012:StatusContext${id}`).toString('base64'),
      state,
      description: entry.description,
      target_url: entry.target_url,
      context: entry.context,
      created_at: now,
      updated_at: now,
      creator: this.user('gatehouse[bot]', 9, 'Bot'),
    }, { location: `${this.url}/repos/${repo.fullName}/statuses/${sha}` });
  }

  /**
   * Checks API: create (POST) or update (PATCH) a check run. Like GitHub, only a GitHub App's
   * installation token may write check runs (a personal access token gets 403), the body must
   * match the endpoint's request schema in @octokit/openapi (at most 50 annotations per request,
   * required fields; 422 otherwise), and each update appends its annotations.
   */
  private writeCheckRun(res: ServerResponse, record: RecordedRequest, repo: DoubleRepository, auth: { kind: RecordedRequest['auth'] }, id: number | undefined, body: string): void {
    const docs = `${DOCS}/checks/runs#${id === undefined ? 'create-a-check-run' : 'update-a-check-run'}`;
    if (auth.kind !== 'installation') {
      return this.send(res, record, 403, { message: 'You must authenticate via a GitHub App.', documentation_url: docs, status: '403' });
    }
    let input: {
      name?: unknown; head_sha?: unknown; details_url?: unknown; external_id?: unknown; status?: unknown; conclusion?: unknown;
      started_at?: unknown; completed_at?: unknown; output?: { title?: unknown; summary?: unknown; text?: unknown; annotations?: unknown };
    };
    try {
      input = JSON.parse(body) as typeof input;
    } catch {
      return this.send(res, record, 400, { message: 'Problems parsing JSON', documentation_url: docs, status: '400' });
    }
    const invalid = (field: string, message: string) =>
      this.send(res, record, 422, { message: 'Validation Failed', errors: [{ resource: 'CheckRun', code: 'custom', field, message }], documentation_url: docs, status: '422' });
    // The body's shape is checked against GitHub's own description of the endpoint (required
    // fields, enums, at most 50 annotations, 65535-character texts), answered like GitHub's
    // schema check: 422 "Invalid request." naming what failed.
    const shape = checkRunRequestValidator(id === undefined ? 'post' : 'patch');
    if (!shape(input)) {
      const problems = (shape.errors ?? []).map((e) => `${e.instancePath === '' ? 'body' : e.instancePath} ${e.message ?? 'is invalid'}`);
      return this.send(res, record, 422, { message: `Invalid request.\n\n${problems.join('\n')}`, documentation_url: docs, status: '422' });
    }
    let run = id === undefined ? undefined : repo.checkRuns.find((r) => r.id === id);
    if (id !== undefined && run === undefined) return this.notFound(res, record, docs);
    if (id === undefined && !repo.commits.has(input.head_sha as string)) return this.send(res, record, 422, { message: `No commit found for SHA: ${String(input.head_sha)}`, documentation_url: docs, status: '422' });
    if (input.conclusion === 'stale') return invalid('conclusion', 'only GitHub can set a conclusion of stale');
    if (input.status === 'completed' && input.conclusion === undefined && run?.conclusion == null) return invalid('conclusion', 'conclusion is required when status is completed');
    const output = input.output;
    let annotations: DoubleAnnotation[] = [];
    if (output?.annotations !== undefined) {
      annotations = output.annotations as DoubleAnnotation[];
      // What the schema cannot say: a range ends after it starts, and columns need a one-line range.
      for (const a of annotations) {
        if (a.end_line < a.start_line || (a.start_column !== undefined && a.start_line !== a.end_line)) return invalid('output.annotations', 'annotation is invalid (end_line before start_line, or columns on a range of several lines)');
      }
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (run === undefined) {
      run = {
        id: this.nextId++,
        name: input.name as string,
        head_sha: input.head_sha as string,
        status: 'queued',
        conclusion: null,
        details_url: null,
        external_id: null,
        started_at: typeof input.started_at === 'string' ? input.started_at : now,
        completed_at: null,
        output: { title: null, summary: null, text: null },
        annotations: [],
        annotationBatches: [],
      };
      repo.checkRuns.push(run);
    }
    if (typeof input.name === 'string') run.name = input.name;
    if (typeof input.details_url === 'string') run.details_url = input.details_url;
    if (typeof input.external_id === 'string') run.external_id = input.external_id;
    if (typeof input.status === 'string') run.status = input.status as DoubleCheckRun['status'];
    if (typeof input.conclusion === 'string') {
      run.conclusion = input.conclusion;
      run.status = 'completed';
      run.completed_at = typeof input.completed_at === 'string' ? input.completed_at : now;
    }
    if (output !== undefined) {
      run.output = { title: String(output.title), summary: String(output.summary), text: typeof output.text === 'string' ? output.text : run.output.text };
      if (annotations.length > 0) {
        run.annotations.push(...annotations);
        run.annotationBatches.push(annotations.length);
      }
    }
    this.send(res, record, id === undefined ? 201 : 200, this.checkRunBody(repo, run));
  }

  private checkRunBody(repo: DoubleRepository, run: DoubleCheckRun) {
    const api = `${this.url}/repos/${repo.fullName}`;
    const appId = this.options.app?.appId ?? 1;
    return {
      id: run.id,
      head_sha: run.head_sha,
      node_id: Buffer.from(`08:CheckRun${run.id}`).toString('base64'),
      external_id: run.external_id ?? '',
      url: `${api}/check-runs/${run.id}`,
      html_url: `${this.url}/${repo.fullName}/runs/${run.id}`,
      details_url: run.details_url,
      status: run.status,
      conclusion: run.conclusion,
      started_at: run.started_at,
      completed_at: run.completed_at,
      output: {
        title: run.output.title,
        summary: run.output.summary,
        text: run.output.text,
        annotations_count: run.annotations.length,
        annotations_url: `${api}/check-runs/${run.id}/annotations`,
      },
      name: run.name,
      check_suite: { id: 5000 + run.id },
      app: {
        id: appId,
        slug: this.options.app?.slug ?? 'gatehouse',
        node_id: Buffer.from(`03:App${appId}`).toString('base64'),
        client_id: `Iv1.${createHash('sha1').update(String(appId)).digest('hex').slice(0, 16)}`,
        owner: this.user(repo.owner, 2, 'Organization'),
        name: 'Gatehouse',
        description: 'Connector registry checks',
        external_url: 'https://gatehouse.example.com',
        html_url: `${this.url}/apps/${this.options.app?.slug ?? 'gatehouse'}`,
        created_at: '2024-01-01T00:00:00Z',
        updated_at: '2024-01-01T00:00:00Z',
        permissions: { checks: 'write', contents: 'read', metadata: 'read', statuses: 'write', pull_requests: 'read' },
        events: ['push', 'pull_request'],
      },
      pull_requests: [],
    };
  }

  private installationBody(repo: DoubleRepository) {
    const id = repo.installationId!;
    return {
      id,
      account: this.user(repo.owner, 2, 'Organization'),
      repository_selection: 'selected',
      access_tokens_url: `${this.url}/app/installations/${id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url: `${this.url}/organizations/${repo.owner}/settings/installations/${id}`,
      app_id: this.options.app!.appId,
      client_id: `Iv1.${createHash('sha1').update(String(this.options.app!.appId)).digest('hex').slice(0, 16)}`,
      target_id: 2,
      target_type: 'Organization',
      permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read', statuses: 'write' },
      events: ['push', 'pull_request'],
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      app_slug: this.options.app!.slug ?? 'gatehouse',
      suspended_by: null,
      suspended_at: null,
    };
  }

  private createInstallationToken(res: ServerResponse, record: RecordedRequest, installationId: number): void {
    const known = [...this.repos.values()].some((r) => r.installationId === installationId);
    if (!known) return this.notFound(res, record, `${DOCS}/apps/apps#create-an-installation-access-token-for-an-app`);
    const token = `ghs_${randomBytes(18).toString('base64url')}`;
    const expiresAt = Date.now() + 3600_000;
    this.installationTokens.set(token, { installationId, expiresAt });
    this.send(res, record, 201, {
      token,
      expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      permissions: { checks: 'write', contents: 'read', metadata: 'read', pull_requests: 'read', statuses: 'write' },
      repository_selection: 'selected',
    });
  }
}

function matches(rule: { method?: string; path?: RegExp }, method: string, path: string): boolean {
  return (rule.method === undefined || rule.method === method) && (rule.path === undefined || rule.path.test(path));
}

function wrap60(b64: string): string {
  return b64 === '' ? '' : `${b64.replace(/.{60}/g, '$&\n')}\n`;
}
