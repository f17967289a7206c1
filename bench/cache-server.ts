/**
 * Server side of bench/cache.bench.ts, run in its own process so the load generator does not share
 * its event loop. Starts a private redis-server, a 127.0.0.1 upstream answering 1 KiB of JSON with
 * `Cache-Control: public, max-age=3600`, and on separate ports:
 *   bare    — a bare fastify route returning the same bytes from memory
 *   module  — a fastify route answering through ResponseCache.fetch (a hit: the cache module alone)
 *   nginx   — nginx `proxy_cache` in front of the same upstream (when Debian's nginx is installed;
 *             one worker process, like the one Node process)
 *   execute — the real Gatehouse app: GET /t/bench/connectors/weather/execute (passthrough) and
 *             …/weather-template/execute (a response template on every hit); only once the runtime exists
 * Prints one JSON line with the URLs, then serves until SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { freePort, startRedisServer } from '../src/redis/embedded.js';
import { createServices } from '../src/services.js';
import { UpstreamClient } from '../src/upstream/client.js';

export const PAYLOAD = Buffer.from(
  JSON.stringify({
    items: Array.from({ length: 11 }, (_, i) => ({ id: `item-${i}`, title: `Title number ${i}`, score: i * 7 })),
    pad: '',
  }).padEnd(1024 - 1, ' ') + '\n',
);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const redis = process.env.BENCH_REDIS_URL === undefined ? await startRedisServer({ dataDir: join(home, 'redis'), persistent: false }) : undefined;
  const redisUrl = process.env.BENCH_REDIS_URL ?? redis!.url;

  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600', 'content-length': PAYLOAD.length });
    res.end(PAYLOAD);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const config = loadConfig({
    NODE_ENV: 'bench',
    GATEHOUSE_HOME: home,
    REDIS_URL: redisUrl,
    GATEHOUSE_ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
    UPSTREAM_ALLOW_HTTP: 'true',
    UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  // The product's default level, lines produced as for stdout but written to /dev/null.
  const log = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream);
  const services = await createServices({ config, log, stateUrl: redisUrl, cacheUrl: redisUrl });
  const client = UpstreamClient.fromConfig(config);

  const bare = Fastify({ logger: false });
  bare.get('/bare', async (_request, reply) => reply.header('content-type', 'application/json').send(PAYLOAD));

  const moduleApp = Fastify({ logger: false });
  const url = `${upstreamUrl}/weather?location=New%20York`;
  moduleApp.get('/cached', async (_request, reply) => {
    const r = await services.responseCache.fetch({
      scope: { tenant: 'bench', permalink: 'weather', revision: 'r1' },
      request: { method: 'GET', url, headers: { accept: 'application/json' } },
      credentials: [],
      doFetch: (conditional) => client.send({ url: new URL(url), method: 'GET', headers: { accept: 'application/json', ...conditional } }),
    });
    return reply.header('content-type', 'application/json').header('x-cache', r.xCache).send(r.response.body);
  });

  const urls: Record<string, string> = {
    bare: `${await bare.listen({ port: 0, host: '127.0.0.1' })}/bare`,
    module: `${await moduleApp.listen({ port: 0, host: '127.0.0.1' })}/cached`,
  };

  const nginx = await startNginx(home, upstreamUrl);
  if (nginx !== undefined) urls.nginx = nginx.url;
  Object.assign(urls, await startExecute(services, config.adminToken, upstreamUrl));

  // The driver asks for this process's CPU time around each run: CPU per request is a cost measure
  // that other load on the machine hardly distorts (wall-clock rps does).
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.(process.cpuUsage());
  });
  process.stdout.write(`${JSON.stringify(urls)}\n`);

  const stop = async () => {
    await Promise.allSettled([bare.close(), moduleApp.close(), client.close()]);
    await services.close();
    upstream.close();
    nginx?.child.kill('SIGTERM');
    await redis?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/** The full app with one tenant and one manual connector, when the runtime route exists. */
async function startExecute(services: Awaited<ReturnType<typeof createServices>>, adminToken: string, upstreamUrl: string): Promise<Record<string, string>> {
  if (!existsSync(new URL('../src/http/runtime.ts', import.meta.url)) && !existsSync(new URL('../src/http/runtime.js', import.meta.url))) return {};
  // Imported here so the module-only measurement works while the runtime is still being built.
  const { buildApp } = await import('../src/app.js');
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const tenant = await fetch(`${base}/admin/v1/tenants/bench`, { method: 'PUT', headers: admin, body: JSON.stringify({ name: 'Bench', allowed_origins: [] }) });
  if (!tenant.ok) throw new Error(`creating the bench tenant failed: ${tenant.status} ${await tenant.text()}`);
  // `weather` passes the upstream bytes through (the same bytes as the bare route); `weather-template`
  // runs a response template on every hit, as most production connectors do.
  const connectors = [
    { name: 'Weather', url: `${upstreamUrl}/weather`, method: 'GET', query_parameters: [{ key: 'location', value: 'New York', overridable: true }] },
    {
      name: 'Weather Template',
      url: `${upstreamUrl}/weather`,
      method: 'GET',
      query_parameters: [{ key: 'location', value: 'New York', overridable: true }],
      response_body: "{% set data = response.body | from_json %}{{ data['items'] | tojson }}",
      response_content_type: 'application/json',
    },
  ];
  for (const connector of connectors) {
    const permalink = connector.name.toLowerCase().replace(/ /g, '-');
    let created = await fetch(`${base}/admin/v1/tenants/bench/connectors`, { method: 'POST', headers: admin, body: JSON.stringify(connector) });
    if (created.status === 409) created = await fetch(`${base}/admin/v1/tenants/bench/connectors/${permalink}`, { method: 'PUT', headers: admin, body: JSON.stringify(connector) });
    if (!created.ok) throw new Error(`creating the bench connector ${permalink} failed: ${created.status} ${await created.text()}`);
  }
  const execute = `${base}/t/bench/connectors/weather/execute`;
  const probe = await fetch(execute);
  if (probe.status === 404 && (await probe.text()).includes('no route')) return {};
  return { execute, 'execute+template': `${base}/t/bench/connectors/weather-template/execute` };
}

/** nginx with proxy_cache, if the binary exists (`apt-get install nginx-light`); undefined otherwise. */
async function startNginx(home: string, upstreamUrl: string): Promise<{ url: string; child: ChildProcess } | undefined> {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status !== 0) return undefined;
  const dir = join(home, 'nginx');
  mkdirSync(join(dir, 'cache'), { recursive: true });
  const port = await freePort();
  const upstreamHost = new URL(upstreamUrl).host;
  const asRoot = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${asRoot}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/t1; proxy_temp_path ${dir}/t2; fastcgi_temp_path ${dir}/t3; uwsgi_temp_path ${dir}/t4; scgi_temp_path ${dir}/t5;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:10m max_size=100m inactive=60m use_temp_path=off;
  upstream origin { server ${upstreamHost}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/weather?location=New%20York`)).ok) return { url: `http://127.0.0.1:${port}/weather?location=New%20York`, child };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return undefined;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
