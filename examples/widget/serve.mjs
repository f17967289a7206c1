#!/usr/bin/env node
// The example widget against a local Gatehouse, in one command (see README.md next to this file):
//   node examples/widget/serve.mjs [--gatehouse http://127.0.0.1:8080] [--port 5173] [--tenant demo]
// It starts a small demo upstream on 127.0.0.1, sets up tenant `demo` through the admin API
// (allowed origin = this page, an HS256 session secret, the widget's connectors), links the
// composite's registry file as a local Git source, asks Gatehouse for a development session token,
// and serves the page on its own origin. Ctrl-C removes the Git link again.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GIT_ENV, relayToGitHttpBackend } from '../../scripts/git-http-backend.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FILES = { '/': 'index.html', '/index.html': 'index.html', '/host.js': 'host.js', '/widget.js': 'widget.js', '/widget.css': 'widget.css' };
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** Serves the page and its config (`{ baseUrl, tenant, sessionToken }`) on host:port. */
export async function startExampleServer({ host = '127.0.0.1', port = 0, config }) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    if (path === '/config.js') {
      res.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-store' });
      res.end(`export default ${JSON.stringify(config)};\n`);
      return;
    }
    const file = FILES[path];
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)], 'cache-control': 'no-cache' });
    res.end(await readFile(join(HERE, file)));
  });
  await new Promise((ok) => server.listen(port, host, ok));
  const url = `http://${host}:${server.address().port}`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
}

/** The demo's stand-in for real APIs (Gatehouse must allow it: UPSTREAM_ALLOW_HTTP, UPSTREAM_ALLOW_CIDRS). */
async function startDemoUpstream() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      const body = Buffer.concat(chunks).toString('utf8');
      const [, first, city, units] = url.pathname.split('/');
      let answer;
      if (first === 'weather') answer = { city: decodeURIComponent(city ?? ''), units, q: url.searchParams.get('q'), temperature: 18 + (city ?? '').length % 7, api_key_received: req.headers['x-api-key'] !== undefined };
      else if (first === 'contacts') answer = { id: `contact-${randomBytes(3).toString('hex')}`, ...JSON.parse(body || '{}') };
      else if (first === 'forecast') answer = { city: url.searchParams.get('city'), outlook: 'sunny spells' };
      else if (first === 'summary') answer = { body: JSON.parse(body || '{}') };
      else if (first === 'whoami') answer = { user_id: url.searchParams.get('user_id'), email: req.headers['x-user-email'] };
      else answer = { path: url.pathname };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${server.address().port}`;
}

/** The widget's connectors, pointing at `upstream`. */
export function exampleConnectors(upstream) {
  return [
    {
      name: 'Weather',
      permalink: 'weather',
      url: `${upstream}/weather/{{ pathParams.city }}/{{ pathParams.units }}`,
      path_parameters: [{ key: 'city' }, { key: 'units', value: 'metric' }],
      query_parameters: [{ key: 'q', value: '', overridable: true }],
      authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: "{{ get_secret('weather_key') }}", in: 'header' } },
    },
    { name: 'Contacts', permalink: 'contacts', method: 'POST', url: `${upstream}/contacts` },
    {
      name: 'Who Am I',
      permalink: 'whoami',
      url: `${upstream}/whoami`,
      query_parameters: [{ key: 'user_id', value: '{{ user.id }}', overridable: false }],
      headers: [{ key: 'X-User-Email', value: '{{ user.email }}', overridable: false }],
    },
  ];
}

/** Where the example's registry file sends its composite's steps; serve.mjs points them at the demo upstream. */
const REGISTRY_PLACEHOLDER = 'https://api.weather.example';
const GIT_LINK = 'widget-demo';

/**
 * The composite comes from a Git source, the way every composite reaches Gatehouse: this file's
 * connectors_registry.json (step URLs pointed at `upstream`) committed to a bare repository in a
 * temporary folder, served over Git smart HTTP on 127.0.0.1 by `git http-backend`.
 */
async function startGitSource(upstream) {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-widget-git-'));
  const bare = join(root, `${GIT_LINK}.git`);
  const work = join(root, 'work');
  mkdirSync(work);
  const git = (...args) => execFileSync('git', args, { cwd: root, env: { ...process.env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  const registry = readFileSync(join(HERE, 'connectors_registry.json'), 'utf8').replaceAll(REGISTRY_PLACEHOLDER, upstream);
  writeFileSync(join(work, 'connectors_registry.json'), registry);
  git('init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(`--git-dir=${bare}`, `--work-tree=${work}`, 'add', 'connectors_registry.json');
  git(`--git-dir=${bare}`, `--work-tree=${work}`, 'commit', '--quiet', '-m', 'example widget registry');
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      relayToGitHttpBackend({ req, res, body: Buffer.concat(chunks), root }).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      });
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/${GIT_LINK}.git`,
    close: async () => {
      await new Promise((ok) => server.close(ok));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const gitInstalled = () => spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;

async function main() {
  const { values } = parseArgs({ options: { gatehouse: { type: 'string', default: process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080' }, port: { type: 'string', default: '5173' }, tenant: { type: 'string', default: 'demo' } } });
  const gatehouse = values.gatehouse.replace(/\/+$/, '');
  const tokenFile = join(resolve(process.env.GATEHOUSE_HOME ?? '.gatehouse'), 'admin.token');
  const adminToken = process.env.GATEHOUSE_ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!adminToken) throw new Error(`no admin token: set GATEHOUSE_ADMIN_TOKEN or run from the directory where npm start wrote ${tokenFile}`);
  /** One admin API call; an answer of 400 or more throws, unless its status is in `accept`. */
  const admin = async (method, path, body, accept = []) => {
    const res = await fetch(`${gatehouse}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) }).catch((err) => {
      throw new Error(`cannot reach Gatehouse at ${gatehouse} (${err.cause?.code ?? err.message}): start it with UPSTREAM_ALLOW_HTTP=true UPSTREAM_ALLOW_CIDRS=127.0.0.1/32 npm start`);
    });
    const answer = await res.json().catch(() => ({}));
    if (res.status >= 400 && !accept.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${answer.error?.message ?? ''}`);
    return { status: res.status, body: answer };
  };
  const LOOPBACK_HINT = '(http:// on 127.0.0.1 needs Gatehouse started with UPSTREAM_ALLOW_HTTP=true UPSTREAM_ALLOW_CIDRS=127.0.0.1/32)';

  // The page first: with --port 0 its origin (the tenant's allowed origin) is known only once it listens.
  const tenant = values.tenant;
  const config = { baseUrl: gatehouse, tenant, sessionToken: '' };
  const page = await startExampleServer({ port: Number(values.port), config });
  const upstream = await startDemoUpstream();
  await admin('PUT', `/tenants/${tenant}`, { name: 'Widget demo', session: { alg: 'HS256', secret: randomBytes(32).toString('hex') }, allowed_origins: [page.url] });
  await admin('PUT', `/tenants/${tenant}/secrets/weather_key`, { value: randomBytes(12).toString('hex') });
  for (const connector of exampleConnectors(upstream)) {
    const created = await admin('POST', `/tenants/${tenant}/connectors`, connector, [409]).catch((err) => {
      throw new Error(`${err.message}\n${LOOPBACK_HINT}`);
    });
    if (created.status === 409) await admin('PUT', `/tenants/${tenant}/connectors/${connector.permalink}`, connector);
  }

  let source;
  if (gitInstalled()) {
    source = await startGitSource(upstream);
    const link = { url: source.url, branch: 'main', poll_interval_s: 0 };
    const linkPath = `/tenants/${tenant}/git/${GIT_LINK}`;
    let linked = await admin('PUT', linkPath, link, [409, 422]);
    // An earlier run linked its own (now gone) server: a link's URL is fixed, so link again.
    if (linked.status === 409 && linked.body.error?.code === 'GIT_URL_CHANGED') {
      await admin('DELETE', linkPath);
      linked = await admin('PUT', linkPath, link, [422]);
    }
    if (linked.status >= 400) throw new Error(`PUT ${linkPath}: ${linked.status} ${linked.body.error?.message ?? ''}\n${LOOPBACK_HINT}`);
    // The first sync runs in Gatehouse's worker; the composite is live when it succeeded.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body: sync } = await admin('GET', `/syncs/${linked.body.sync_id}`);
      if (sync.state === 'succeeded' || sync.state === 'unchanged') break;
      if (sync.state === 'failed' || sync.state === 'superseded' || Date.now() > deadline) {
        const why = [...(sync.errors ?? []).map((e) => e.message), sync.last_error].filter(Boolean).join('; ');
        throw new Error(`the sync of Git link "${GIT_LINK}" did not succeed (${sync.state}${why ? `: ${why}` : ''}); is Gatehouse's worker running (npm start runs it)?`);
      }
      await new Promise((ok) => setTimeout(ok, 200));
    }
    const stop = () => {
      admin('DELETE', linkPath, undefined, [404])
        .catch(() => undefined)
        .then(() => source.close())
        .finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } else {
    process.stderr.write('examples/widget: no `git` command: the dashboard composite needs it (its registry is served to Gatehouse as a local Git repository); the dashboard button will show 404 CONNECTOR_NOT_FOUND\n');
  }

  const { body: session } = await admin('POST', `/tenants/${tenant}/session-token`, { sub: 'demo-user', email: 'demo@example.com', first_name: 'Demo', ttl_s: 86_400 });
  config.sessionToken = session.token;
  process.stdout.write(
    `example widget: ${page.url}/  (tenant "${tenant}" on ${gatehouse}, demo upstream ${upstream}${source === undefined ? '' : `, composites from Git link "${GIT_LINK}" at ${source.url}`})\n`,
  );
}

// Run as a command (not imported by a test); realpath: Node loads this file by its real path.
if (process.argv[1] !== undefined && existsSync(process.argv[1]) && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`examples/widget: ${err.message}\n`);
    process.exit(1);
  });
}
