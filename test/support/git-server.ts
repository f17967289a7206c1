import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GIT_ENV, relayToGitHttpBackend } from '../../scripts/git-http-backend.mjs';

/**
 * A real Git smart-HTTP server on 127.0.0.1: `git http-backend` (the CGI program git ships)
 * behind a small node server (scripts/git-http-backend.mjs, which the example widget uses too),
 * serving bare repositories created by the test with the git CLI.
 * Per repository it can demand HTTP basic credentials, like a private repository on any host.
 * `api` handles other paths first (the GitLab / Gitea REST doubles mount there).
 */

export interface GitServerOptions {
  /** Serve https with this certificate (else plain http). */
  tls?: { cert: string; key: string };
  api?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | Promise<boolean>;
}

export interface GitTestServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  root: string;
  /** Git requests served so far, by path (to assert the source was read once). */
  requests: { method: string; path: string; status: number }[];
  createRepo(name: string, options?: { auth?: { username: string; password: string } }): TestRepo;
  close(): Promise<void>;
}

export interface TestRepo {
  /** Clone URL, e.g. http://127.0.0.1:41234/group/name.git */
  url: string;
  /** Commits `files` (path → content; null deletes) on `branch` and pushes; returns the new commit sha. */
  commit(files: Record<string, string | Buffer | null>, options?: { branch?: string; message?: string }): string;
  /** Points `branch` at `sha` on the server (a force-push). */
  forcePush(branch: string, sha: string): void;
  deleteBranch(branch: string): void;
  head(branch?: string): string;
}

function gitCli(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export async function startGitServer(options: GitServerOptions = {}): Promise<GitTestServer> {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-git-server-'));
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-git-work-'));
  const auth = new Map<string, { username: string; password: string }>();
  const requests: GitTestServer['requests'] = [];

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (options.api !== undefined && (await options.api(req, res, body))) return;
    const url = new URL(req.url ?? '/', 'http://x');
    const repo = /^\/(.+?\.git)(\/|$)/.exec(url.pathname)?.[1];
    const required = repo === undefined ? undefined : auth.get(repo);
    if (required !== undefined) {
      const expected = `Basic ${Buffer.from(`${required.username}:${required.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        requests.push({ method: req.method ?? 'GET', path: url.pathname, status: 401 });
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test git"', 'content-type': 'text/plain' }).end('authentication required');
        return;
      }
    }
    const status = await relayToGitHttpBackend({ req, res, body, root, remoteUser: required?.username ?? '' });
    requests.push({ method: req.method ?? 'GET', path: url.pathname, status });
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  };
  const server: Server = options.tls === undefined ? createHttpServer(listener) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    root,
    requests,
    createRepo(name, repoOptions = {}) {
      const bare = join(root, `${name}.git`);
      mkdirSync(dirname(bare), { recursive: true });
      gitCli(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
      if (repoOptions.auth !== undefined) auth.set(`${name}.git`, repoOptions.auth);
      const checkout = join(work, name);
      mkdirSync(checkout, { recursive: true });
      gitCli(checkout, 'init', '--quiet', '--initial-branch=main');
      gitCli(checkout, 'remote', 'add', 'origin', bare);
      const branches = new Set<string>();
      return {
        url: `${origin}/${name}.git`,
        commit(files, commitOptions = {}) {
          const branch = commitOptions.branch ?? 'main';
          if (branches.has(branch)) {
            gitCli(checkout, 'fetch', '--quiet', 'origin', branch);
            gitCli(checkout, 'checkout', '--quiet', '-B', branch, `origin/${branch}`);
          } else {
            const exists = gitCli(bare, 'branch', '--list', branch) !== '';
            if (exists) {
              gitCli(checkout, 'fetch', '--quiet', 'origin', branch);
              gitCli(checkout, 'checkout', '--quiet', '-B', branch, `origin/${branch}`);
            } else {
              gitCli(checkout, 'checkout', '--quiet', '--orphan', branch);
              gitCli(checkout, 'rm', '-rf', '--quiet', '--ignore-unmatch', '.');
            }
            branches.add(branch);
          }
          for (const [path, content] of Object.entries(files)) {
            const file = join(checkout, path);
            if (content === null) {
              rmSync(file, { force: true });
            } else {
              mkdirSync(dirname(file), { recursive: true });
              writeFileSync(file, content);
            }
          }
          gitCli(checkout, 'add', '-A');
          gitCli(checkout, 'commit', '--quiet', '--allow-empty', '-m', commitOptions.message ?? 'update registry');
          gitCli(checkout, 'push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`);
          return gitCli(checkout, 'rev-parse', 'HEAD');
        },
        forcePush(branch, sha) {
          gitCli(bare, 'update-ref', `refs/heads/${branch}`, sha);
        },
        deleteBranch(branch) {
          gitCli(bare, 'update-ref', '-d', `refs/heads/${branch}`);
          branches.delete(branch);
        },
        head(branch = 'main') {
          return gitCli(bare, 'rev-parse', `refs/heads/${branch}`);
        },
      };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  };
}
