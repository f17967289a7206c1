#!/usr/bin/env node
// The example widget against a local Gatehouse, in one command (see README.md next to this file):
//   node examples/widget/serve.mjs [--gatehouse http://127.0.0.1:8080] [--port 5173] [--tenant demo]
// It starts a small demo upstream on 127.0.0.1, sets up tenant `demo` through the admin API
// (allowed origin = this page, an HS256 session secret, the widget's connectors), asks Gatehouse for
// a development session token, and serves the page on its own origin.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

async function main() {
  const { values } = parseArgs({ options: { gatehouse: { type: 'string', default: process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080' }, port: { type: 'string', default: '5173' }, tenant: { type: 'string', default: 'demo' } } });
  const gatehouse = values.gatehouse.replace(/\/+$/, '');
  const tokenFile = join(resolve(process.env.GATEHOUSE_HOME ?? '.gatehouse'), 'admin.token');
  const adminToken = process.env.GATEHOUSE_ADMIN_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (!adminToken) throw new Error(`no admin token: set GATEHOUSE_ADMIN_TOKEN or run from the directory where npm start wrote ${tokenFile}`);
  const admin = async (method, path, body) => {
    const res = await fetch(`${gatehouse}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }).catch((err) => {
      throw new Error(`cannot reach Gatehouse at ${gatehouse} (${err.cause?.code ?? err.message}): start it with UPSTREAM_ALLOW_HTTP=true UPSTREAM_ALLOW_CIDRS=127.0.0.1/32 npm start`);
    });
    const answer = await res.json().catch(() => ({}));
    if (res.status >= 400 && !(method === 'POST' && res.status === 409)) throw new Error(`${method} ${path}: ${res.status} ${answer.error?.message ?? ''}`);
    return { status: res.status, body: answer };
  };

  const port = Number(values.port);
  const origin = `http://127.0.0.1:${port}`;
  const upstream = await startDemoUpstream();
  const tenant = values.tenant;
  await admin('PUT', `/tenants/${tenant}`, { name: 'Widget demo', session: { alg: 'HS256', secret: randomBytes(32).toString('hex') }, allowed_origins: [origin] });
  await admin('PUT', `/tenants/${tenant}/secrets/weather_key`, { value: randomBytes(12).toString('hex') });
  for (const connector of exampleConnectors(upstream)) {
    const created = await admin('POST', `/tenants/${tenant}/connectors`, connector).catch((err) => {
      throw new Error(`${err.message}\n(http:// upstreams on 127.0.0.1 need Gatehouse started with UPSTREAM_ALLOW_HTTP=true UPSTREAM_ALLOW_CIDRS=127.0.0.1/32)`);
    });
    if (created.status === 409) await admin('PUT', `/tenants/${tenant}/connectors/${connector.permalink}`, connector);
  }
  const { body: session } = await admin('POST', `/tenants/${tenant}/session-token`, { sub: 'demo-user', email: 'demo@example.com', first_name: 'Demo', ttl_s: 86_400 });
  const page = await startExampleServer({ port, config: { baseUrl: gatehouse, tenant, sessionToken: session.token } });
  process.stdout.write(
    `example widget: ${page.url}/  (tenant "${tenant}" on ${gatehouse}, demo upstream ${upstream})\n` +
      'The dashboard button needs a composite "dashboard", which comes from a linked repository: see examples/widget/README.md.\n',
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`examples/widget: ${err.message}\n`);
    process.exit(1);
  });
}
