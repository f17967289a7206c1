import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiRoot, loadUiFiles, UI_CSP, uiRoutes } from '../../src/http/ui.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';

/** src/http/ui.ts: the dashboard's static files, their headers, and nothing else. */

const EXPECTED_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** A raw HTTP GET: the path goes on the wire exactly as given (no client-side normalisation). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe(EXPECTED_CSP);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
  expect(headers['x-frame-options']).toBe('DENY');
}

describe('dashboard file server (fixture root)', () => {
  let app: FastifyInstance;
  let base: string;
  const SECRET = 'outside-the-root-0f9e8d7c';

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ui-'));
    const root = join(dir, 'ui');
    mkdirSync(join(root, 'js', 'views'), { recursive: true });
    mkdirSync(join(root, '.git'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'js', 'main.js'), 'export const x = 1;\n');
    writeFileSync(join(root, 'js', 'views', 'a.js'), 'export const a = 2;\n');
    writeFileSync(join(root, 'app.css'), 'body{}');
    writeFileSync(join(root, '.env'), SECRET);
    writeFileSync(join(root, '.git', 'config'), SECRET);
    writeFileSync(join(root, 'notes.md'), SECRET);
    writeFileSync(join(dir, 'secret.txt'), SECRET);
    writeFileSync(join(dir, 'secret.js'), SECRET);
    app = Fastify();
    await app.register(uiRoutes({ root }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => app?.close());

  it('serves index.html at /ui/ and /ui/index.html, and redirects /ui to /ui/', async () => {
    for (const path of ['/ui/', '/ui/index.html']) {
      const res = await rawGet(base, path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toBe('<!doctype html><title>t</title>');
    }
    const redirect = await rawGet(base, '/ui');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('/ui/');
  });

  it('sets the content type per extension, nested folders included', async () => {
    const js = await rawGet(base, '/ui/js/views/a.js');
    expect([js.status, js.headers['content-type'], js.body]).toEqual([200, 'text/javascript; charset=utf-8', 'export const a = 2;\n']);
    const css = await rawGet(base, '/ui/app.css');
    expect([css.status, css.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
  });

  it('sends the security headers on files, redirects, 304s and 404s', async () => {
    const ok = await rawGet(base, '/ui/js/main.js');
    expectSecurityHeaders(ok.headers);
    expectSecurityHeaders((await rawGet(base, '/ui')).headers);
    expectSecurityHeaders((await rawGet(base, '/ui/nope.js')).headers);
    expectSecurityHeaders((await rawGet(base, '/ui/js/main.js', { 'if-none-match': ok.headers.etag as string })).headers);
  });

  it('revalidates with ETag: 304 for a matching If-None-Match (list and weak forms too), 200 otherwise', async () => {
    const first = await rawGet(base, '/ui/js/main.js');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers['cache-control']).toBe('no-cache');
    for (const inm of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const again = await rawGet(base, '/ui/js/main.js', { 'if-none-match': inm });
      expect([inm, again.status, again.body]).toEqual([inm, 304, '']);
      expect(again.headers.etag).toBe(etag);
    }
    expect((await rawGet(base, '/ui/js/main.js', { 'if-none-match': '"stale"' })).status).toBe(200);
    // Different files have different tags.
    expect((await rawGet(base, '/ui/js/views/a.js')).headers.etag).not.toBe(etag);
  });

  it('answers 404 for unknown paths and directories', async () => {
    for (const path of ['/ui/nope.js', '/ui/js', '/ui/js/', '/ui/js/views/', '/ui/index.htm', '/ui/INDEX.HTML']) {
      const res = await rawGet(base, path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it('never serves dotfiles, unknown file types or anything outside the root', async () => {
    const attempts = [
      '/ui/.env',
      '/ui/.git/config',
      '/ui/notes.md',
      '/ui/../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/%2E%2E/secret.js',
      '/ui/..%2fsecret.txt',
      '/ui/..%2Fsecret.js',
      '/ui/js/..%2f..%2fsecret.txt',
      '/ui/js/../../secret.txt',
      '/ui/%2e%2e%2fsecret.txt',
      '/ui/..%5csecret.txt',
      '/ui/..\\secret.txt',
      '/ui//etc/passwd',
      '/ui/%2fetc%2fpasswd',
      '/ui/....//secret.txt',
      '/ui/%252e%252e/secret.txt',
      '/ui/js/%00main.js',
    ];
    for (const path of attempts) {
      const res = await rawGet(base, path);
      expect(res.body).not.toContain(SECRET);
      expect([path, res.status === 404 || res.status === 400]).toEqual([path, true]);
    }
  });

  it('only answers GET and HEAD', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/ui/js/main.js' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const post = await app.inject({ method: 'POST', url: '/ui/js/main.js', payload: 'x' });
    expect(post.statusCode).toBe(404);
  });
});

describe('dashboard in the real app', () => {
  let svc: TestService;

  beforeAll(async () => {
    await flushTestRedis();
    svc = await startTestService();
  });
  afterAll(async () => svc?.close());

  it('serves the repository ui/ folder without the admin token, with the CSP', async () => {
    const res = await fetch(`${svc.url}/ui/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
    const html = await res.text();
    expect(html).toContain('<script type="module" src="js/main.js"></script>');
    // No inline script or style: the CSP would block them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    const main = await fetch(`${svc.url}/ui/js/main.js`);
    expect([main.status, main.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  });

  it('every file of ui/ is served, and no module uses innerHTML, eval or inline handlers', async () => {
    const root = defaultUiRoot();
    expect(root).toBeDefined();
    const files = await loadUiFiles(root!);
    expect(files.size).toBeGreaterThan(10);
    for (const [path, file] of files) {
      if (path === '') continue;
      const res = await fetch(`${svc.url}/ui/${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      if (path.endsWith('.js')) {
        const text = file.body.toString('utf8');
        expect([path, /\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/.test(text)]).toEqual([path, false]);
      }
      if (path.endsWith('.html')) expect(file.body.toString('utf8')).not.toMatch(/\son[a-z]+=/);
    }
  });

  it('keeps the admin API behind the token and its JSON 404 for other paths', async () => {
    expect((await fetch(`${svc.url}/admin/v1/tenants`)).status).toBe(401);
    const res = await fetch(`${svc.url}/ui/missing.js`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
  });
});
