import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobSha } from '../support/github-double-git.js';
import { GitHubDouble, type DoubleRepository } from '../support/github-double.js';
import { deliver, pingPayload, pushPayload, signBody } from '../support/github-double-webhooks.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAppAuth } from '@octokit/auth-app';

/**
 * The double is only useful if it answers like GitHub: every route's responses (success and error)
 * are validated against GitHub's own OpenAPI description, and webhook payloads against the shapes in
 * @octokit/webhooks-examples.
 */

const require = createRequire(import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Spec = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { responses: Record<string, unknown> } };

let spec: Spec;
let ajv: Ajv;

function pointerEscape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Compiles the JSON schema GitHub documents for `method path` answering `status`. */
function responseValidator(path: string, method: string, status: number): ValidateFunction {
  let response = spec.paths[path]?.[method]?.responses[String(status)] as { $ref?: string; content?: Record<string, unknown> } | undefined;
  let pointer = `gh#/paths/${pointerEscape(path)}/${method}/responses/${status}`;
  if (response?.$ref !== undefined) {
    const name = response.$ref.replace('#/components/responses/', '');
    response = spec.components.responses[name] as typeof response;
    pointer = `gh#/components/responses/${pointerEscape(name)}`;
  }
  if (response?.content?.['application/json'] === undefined) throw new Error(`GitHub documents no JSON body for ${method} ${path} ${status}`);
  return ajv.compile({ $ref: `${pointer}/content/application~1json/schema` });
}

/**
 * OpenAPI 3.0 writes "may be null" as `nullable: true`, sometimes beside `allOf`/`$ref` with no
 * `type`; JSON Schema (ajv) needs it spelled as a union with `null`.
 */
function nullableToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableToJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = nullableToJsonSchema(v);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

function check(validate: ValidateFunction, body: unknown): void {
  const ok = validate(body);
  expect(ok ? [] : validate.errors).toEqual([]);
}

describe('GitHub double', () => {
  let double: GitHubDouble;
  let repo: DoubleRepository;
  const token = 'ghp_testtoken000000000000000000000000000';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const headers = { authorization: `token ${token}`, accept: 'application/vnd.github+json' };
  let c1: string;
  let c2: string;

  beforeAll(async () => {
    spec = nullableToJsonSchema(require('@octokit/openapi/generated/api.github.com.json')) as Spec;
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    // GitHub declares URI templates such as `…/following{/other_user}` as "uri"; its own examples fail
    // the strict RFC 3986 check, so a URL parser decides (as clients do).
    ajv.addFormat('uri', (s: string) => URL.canParse(s));
    ajv.addSchema(spec as object, 'gh');
    double = await GitHubDouble.start({
      tokens: [token],
      app: { appId: 4242, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      largeFileThreshold: 64,
    });
    repo = double.createRepo('acme/widgets', { installationId: 77 });
    c1 = repo.commit('main', { 'connectors_registry.json': '{"connectors": []}\n', 'README.md': '# widgets\n' }, { message: 'first' });
    c2 = repo.commit('main', { 'connectors_registry.json': `{"connectors": [], "padding": "${'x'.repeat(100)}"}\n`, 'docs/a.md': 'a\n' }, { message: 'second' });
  }, 60_000);

  afterAll(async () => double?.close());

  it('serves a branch ref (git/get-ref) with an ETag and answers If-None-Match with 304', async () => {
    const v = responseValidator('/repos/{owner}/{repo}/git/ref/{ref}', 'get', 200);
    const res = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: { sha: string } };
    check(v, body);
    expect(body.object.sha).toBe(c2);
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    expect(res.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    const again = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers: { ...headers, 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const missing = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/nope`, { headers });
    expect(missing.status).toBe(404);
    check(responseValidator('/repos/{owner}/{repo}/git/ref/{ref}', 'get', 404), await missing.json());
  });

  it('serves files (repos/get-content) with their real blob SHA, base64 wrapped like GitHub', async () => {
    const v = responseValidator('/repos/{owner}/{repo}/contents/{path}', 'get', 200);
    const res = await fetch(`${double.url}/repos/acme/widgets/contents/connectors_registry.json?ref=${c1}`, { headers });
    const body = (await res.json()) as { sha: string; content: string; encoding: string };
    check(v, body);
    expect(body.sha).toBe(blobSha('{"connectors": []}\n'));
    expect(body.encoding).toBe('base64');
    expect(Buffer.from(body.content, 'base64').toString()).toBe('{"connectors": []}\n');

    // Over the size threshold GitHub omits the content ("encoding": "none"); the blobs API has it.
    const big = (await (await fetch(`${double.url}/repos/acme/widgets/contents/connectors_registry.json?ref=${c2}`, { headers })).json()) as { sha: string; content: string; encoding: string };
    check(v, big);
    expect(big.encoding).toBe('none');
    expect(big.content).toBe('');
    const blob = await fetch(`${double.url}/repos/acme/widgets/git/blobs/${big.sha}`, { headers });
    const blobBody = (await blob.json()) as { content: string };
    check(responseValidator('/repos/{owner}/{repo}/git/blobs/{file_sha}', 'get', 200), blobBody);
    expect(Buffer.from(blobBody.content, 'base64').toString()).toContain('padding');

    const dir = await fetch(`${double.url}/repos/acme/widgets/contents/docs?ref=${c2}`, { headers });
    check(v, await dir.json());

    const missing = await fetch(`${double.url}/repos/acme/widgets/contents/nope.json?ref=${c1}`, { headers });
    expect(missing.status).toBe(404);
    check(responseValidator('/repos/{owner}/{repo}/contents/{path}', 'get', 404), await missing.json());
  });

  it('compares commits (repos/compare-commits-with-basehead): ahead, behind, identical', async () => {
    const v = responseValidator('/repos/{owner}/{repo}/compare/{basehead}', 'get', 200);
    const ahead = (await (await fetch(`${double.url}/repos/acme/widgets/compare/${c1}...${c2}?per_page=1`, { headers })).json()) as { status: string; ahead_by: number; commits: unknown[] };
    check(v, ahead);
    expect(ahead).toMatchObject({ status: 'ahead', ahead_by: 1 });
    const behind = (await (await fetch(`${double.url}/repos/acme/widgets/compare/${c2}...${c1}`, { headers })).json()) as { status: string };
    check(v, behind);
    expect(behind.status).toBe('behind');
    const same = (await (await fetch(`${double.url}/repos/acme/widgets/compare/${c1}...${c1}`, { headers })).json()) as { status: string };
    expect(same.status).toBe('identical');
  });

  it('creates commit statuses (repos/create-commit-status) and refuses them when not permitted', async () => {
    const res = await fetch(`${double.url}/repos/acme/widgets/statuses/${c2}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'success', description: 'ok', context: 'gatehouse/connectors' }),
    });
    expect(res.status).toBe(201);
    check(responseValidator('/repos/{owner}/{repo}/statuses/{sha}', 'post', 201), await res.json());
    expect(repo.statuses.at(-1)).toMatchObject({ sha: c2, state: 'success', context: 'gatehouse/connectors' });

    repo.statusPermission = 403;
    const denied = await fetch(`${double.url}/repos/acme/widgets/statuses/${c2}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'success', context: 'gatehouse/connectors' }),
    });
    expect(denied.status).toBe(403);
    check(responseValidator('/repos/{owner}/{repo}/contents/{path}', 'get', 403), await denied.json());
    repo.statusPermission = 201;
  });

  it('authenticates a GitHub App: JWT → repository installation → installation token', async () => {
    // @octokit/auth-app signs the JWT and asks for the token exactly as against github.com.
    const auth = createAppAuth({
      appId: 4242,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      request: (await import('@octokit/request')).request.defaults({ baseUrl: double.url }),
    });
    const app = await auth({ type: 'app' });
    const inst = await fetch(`${double.url}/repos/acme/widgets/installation`, { headers: { authorization: `bearer ${app.token}` } });
    const instBody = (await inst.json()) as { id: number };
    check(responseValidator('/repos/{owner}/{repo}/installation', 'get', 200), instBody);
    expect(instBody.id).toBe(77);

    const raw = await fetch(`${double.url}/app/installations/77/access_tokens`, { method: 'POST', headers: { authorization: `bearer ${app.token}` } });
    expect(raw.status).toBe(201);
    check(responseValidator('/app/installations/{installation_id}/access_tokens', 'post', 201), await raw.json());

    const installation = await auth({ type: 'installation', installationId: 77 });
    const ref = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers: { authorization: `token ${installation.token}` } });
    expect(ref.status).toBe(200);
    expect(double.requests.at(-1)?.auth).toBe('installation');

    const bad = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers: { authorization: 'token nope' } });
    expect(bad.status).toBe(401);
    check(responseValidator('/app/installations/{installation_id}/access_tokens', 'post', 401), await bad.json());
    const anonymous = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`);
    expect(anonymous.status).toBe(404);
  });

  it('writes check runs (checks/create, checks/update) with request and response shapes from @octokit/openapi, and rejects malformed requests', async () => {
    const auth = createAppAuth({
      appId: 4242,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      request: (await import('@octokit/request')).request.defaults({ baseUrl: double.url }),
    });
    const installation = await auth({ type: 'installation', installationId: 77 });
    const app = { authorization: `token ${installation.token}`, accept: 'application/vnd.github+json', 'content-type': 'application/json' };
    const annotation = (line: number) => ({ path: 'connectors_registry.json', start_line: line, end_line: line, annotation_level: 'warning', message: `problem ${line}` });
    const request = (method: string, path: string, body: unknown, h: Record<string, string> = app) => fetch(`${double.url}/repos/acme/widgets${path}`, { method, headers: h, body: JSON.stringify(body) });
    const before = repo.checkRuns.length;

    const created = await request('POST', '/check-runs', {
      name: 'Gatehouse: connectors_registry.json', head_sha: c2, status: 'completed', conclusion: 'failure', details_url: 'https://gatehouse.example.com/ui/#/syncs/x',
      output: { title: 't', summary: 's', annotations: Array.from({ length: 50 }, (_, i) => annotation(i + 1)) },
    });
    expect(created.status).toBe(201);
    const run = (await created.json()) as { id: number; output: { annotations_count: number } };
    check(responseValidator('/repos/{owner}/{repo}/check-runs', 'post', 201), run);
    expect(run.output.annotations_count).toBe(50);
    const updated = await request('PATCH', `/check-runs/${run.id}`, { output: { title: 't', summary: 's', annotations: [annotation(51)] } });
    expect(updated.status).toBe(200);
    const updatedBody = (await updated.json()) as { output: { annotations_count: number } };
    check(responseValidator('/repos/{owner}/{repo}/check-runs/{check_run_id}', 'patch', 200), updatedBody);
    expect(updatedBody.output.annotations_count).toBe(51);
    expect(repo.checkRuns.at(-1)!.annotationBatches).toEqual([50, 1]);

    // Malformed requests are refused like GitHub refuses them, and store nothing.
    const tooMany = await request('POST', '/check-runs', { name: 'n', head_sha: c2, conclusion: 'success', output: { title: 't', summary: 's', annotations: Array.from({ length: 51 }, (_, i) => annotation(i + 1)) } });
    expect(tooMany.status).toBe(422);
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/annotations must NOT have more than 50 items/);
    const noSha = await request('POST', '/check-runs', { name: 'n', conclusion: 'success' });
    expect(noSha.status).toBe(422);
    expect(((await noSha.json()) as { message: string }).message).toMatch(/must have required property 'head_sha'/);
    const noSummary = await request('POST', '/check-runs', { name: 'n', head_sha: c2, conclusion: 'success', output: { title: 't' } });
    expect(noSummary.status).toBe(422);
    expect(((await noSummary.json()) as { message: string }).message).toMatch(/summary/);
    const badAnnotation = await request('PATCH', `/check-runs/${run.id}`, { output: { title: 't', summary: 's', annotations: [{ path: 'x', start_line: 1, end_line: 1, annotation_level: 'fatal', message: 'm' }] } });
    expect(badAnnotation.status).toBe(422);
    // GitHub's schema: an update to status `completed` must carry a conclusion.
    const completedWithoutConclusion = await request('PATCH', `/check-runs/${run.id}`, { status: 'completed', name: 'n' });
    expect(completedWithoutConclusion.status).toBe(422);
    expect(((await completedWithoutConclusion.json()) as { message: string }).message).toMatch(/conclusion/);
    expect(repo.checkRuns.length).toBe(before + 1);
    expect(repo.checkRuns.at(-1)!.annotations.length).toBe(51);

    // A personal access token may not write check runs (403, shaped like GitHub's error).
    const denied = await request('POST', '/check-runs', { name: 'n', head_sha: c2, conclusion: 'success' }, { ...headers, 'content-type': 'application/json' });
    expect(denied.status).toBe(403);
    check(responseValidator('/repos/{owner}/{repo}/contents/{path}', 'get', 403), await denied.json());
  });

  it('injects 5xx, dropped connections and both kinds of rate limit, and records every request', async () => {
    const before = double.count({ path: /\/git\/ref\// });
    double.inject({ path: /\/git\/ref\//, fault: { kind: 'status', status: 502 } });
    expect((await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers })).status).toBe(502);
    expect((await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers })).status).toBe(200);

    double.inject({ path: /\/git\/ref\//, fault: { kind: 'network' } });
    await expect(fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers })).rejects.toThrow();

    double.inject({ path: /\/git\/ref\//, fault: { kind: 'rate-limit', type: 'primary', resetInS: 30 } });
    const primary = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers });
    expect(primary.status).toBe(403);
    expect(primary.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(primary.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 + 25);
    check(responseValidator('/repos/{owner}/{repo}/contents/{path}', 'get', 403), await primary.json());

    double.inject({ path: /\/git\/ref\//, fault: { kind: 'rate-limit', type: 'secondary', status: 429, retryAfterS: 7 } });
    const secondary = await fetch(`${double.url}/repos/acme/widgets/git/ref/heads/main`, { headers });
    expect(secondary.status).toBe(429);
    expect(secondary.headers.get('retry-after')).toBe('7');
    expect(double.count({ path: /\/git\/ref\// })).toBe(before + 5);
    expect(double.count({ path: /\/git\/ref\//, status: 502 })).toBe(1);
  });

  it('signs webhook deliveries shaped like @octokit/webhooks-examples', async () => {
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"queued":1}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/webhooks/github`;
    try {
      const payload = pushPayload(double, repo, { branch: 'main', before: c1, after: c2 });
      const result = await deliver(url, { event: 'push', payload, secret: 's3cret' });
      expect(result.status).toBe(202);
      const got = received[0]!;
      expect(got.headers['x-github-event']).toBe('push');
      expect(got.headers['x-github-delivery']).toBe(result.deliveryId);
      expect(got.headers['x-hub-signature-256']).toBe(signBody('s3cret', got.body).sha256);
      const body = JSON.parse(got.body) as Record<string, unknown> & { repository: { full_name: string }; commits: { id: string; modified: string[] }[]; head_commit: { id: string } };
      expect(body).toMatchObject({ ref: 'refs/heads/main', before: c1, after: c2, installation: { id: 77 } });
      expect(body.repository.full_name).toBe('acme/widgets');
      expect(body.commits.map((c) => c.id)).toEqual([c2]);
      expect(body.commits[0]!.modified).toEqual(['connectors_registry.json']);
      expect(body.head_commit.id).toBe(c2);
      // Same top-level keys as GitHub's example push payload.
      const ex = (require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[]).find((e) => e.name === 'push')!.examples.find((e) => String(e.ref).startsWith('refs/heads/'))!;
      expect(Object.keys(body).sort()).toEqual(Object.keys(ex).sort());

      const ping = pingPayload(double, repo) as { repository: { full_name: string }; zen: string };
      expect(ping.repository.full_name).toBe('acme/widgets');
      expect(typeof ping.zen).toBe('string');
    } finally {
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
