/**
 * Execute benchmark (issue 5): what the Gatehouse pipeline adds on a cache miss.
 *
 *   npx tsx bench/execute.bench.ts [--duration 10] [--connections 50]
 *
 * Three targets, each its own process, loaded in turn with autocannon at 50 connections:
 *   bare     a bare fastify route answering a constant (framework floor)
 *   direct   a bare fastify route calling the upstream directly with undici (what any proxy costs)
 *   execute  GET /t/bench/connectors/echo/execute on Gatehouse (full pipeline, no-store upstream)
 * The upstream (node:http, `Cache-Control: no-store`) runs in a fourth process. "Added" latency is
 * execute − direct. Gatehouse runs with LOG_LEVEL=warn (per-request info logs are an operator choice).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const role = process.argv[2];
const here = fileURLToPath(import.meta.url);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}

function announce(port: number): void {
  process.stdout.write(`LISTENING ${port}\n`);
}

async function upstreamRole(): Promise<void> {
  const body = JSON.stringify({ id: 1, name: 'bench', items: [1, 2, 3] });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
}

async function bareRole(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/bare', async () => ({ id: 1, name: 'bench', items: [1, 2, 3] }));
  const upstream = process.env.BENCH_UPSTREAM!;
  const { Agent } = await import('undici');
  const agent = new Agent({ connections: 256 });
  app.get('/direct', async (_req, reply) => {
    const res = await agent.request({ origin: upstream, path: '/echo', method: 'GET' });
    const buf = Buffer.from(await res.body.arrayBuffer());
    reply.code(res.statusCode).header('content-type', res.headers['content-type'] as string);
    return reply.send(buf);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  announce((app.server.address() as { port: number }).port);
}

async function gatehouseRole(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/services.js');
  const { buildApp } = await import('../src/app.js');
  const config = loadConfig({ ...process.env, PORT: '0' });
  const log = createLogger(config.logLevel);
  const services = await createServices({ config, log, stateUrl: config.redisUrl!, cacheUrl: config.redisUrl! });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  announce((app.server.address() as { port: number }).port);
}

function start(roleName: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // BENCH_PROFILE=dir writes a V8 CPU profile of the Gatehouse process there (for hunting overhead).
    const prof = roleName === 'gatehouse' && process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', here, roleName], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${roleName} exited with ${code}`)));
  });
}

interface Measured {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  errors: number;
  non2xx: number;
  /** CPU time (user + system) the serving process spent per request, in µs: robust on a busy machine. */
  cpuUs: number;
}

/** utime + stime of a process in ms (Linux /proc; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

async function load(url: string, connections: number, duration: number, pid: number | undefined, method: 'GET' | 'POST' = 'GET'): Promise<Measured> {
  // Warm-up: connection pools, JIT, token/compile caches.
  await autocannon({ url, connections, duration: 2, method });
  const cpu0 = cpuMs(pid);
  const r = await autocannon({ url, connections, duration, method });
  const cpu = cpuMs(pid) - cpu0;
  const total = r.requests.total || 1;
  return { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, rps: r.requests.average, errors: r.errors + r.timeouts, non2xx: r.non2xx, cpuUs: (cpu * 1000) / total };
}

async function main(): Promise<void> {
  const duration = arg('duration', 10);
  const connections = arg('connections', 50);
  const { startRedisServer } = await import('../src/redis/embedded.js');
  const redis = await startRedisServer({ dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-redis-')), persistent: false });
  const children: ChildProcess[] = [];
  try {
    const upstream = await start('upstream', {});
    children.push(upstream.child);
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const bare = await start('bare', { BENCH_UPSTREAM: upstreamUrl });
    children.push(bare.child);
    const adminToken = 'bench-admin-token-0123456789abcdef';
    const gh = await start('gatehouse', {
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      GATEHOUSE_ADMIN_TOKEN: adminToken,
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
    });
    children.push(gh.child);
    const ghUrl = `http://127.0.0.1:${gh.port}`;
    const admin = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${ghUrl}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    await admin('PUT', '/tenants/bench', { name: 'bench', allowed_origins: [] });
    await admin('POST', '/tenants/bench/connectors', {
      name: 'Echo',
      url: `${upstreamUrl}/echo`,
      headers: [{ key: 'Accept', value: 'application/json', overridable: true }, { key: 'X-Tenant', value: '{{ tenant_id }}', overridable: false }],
      query_parameters: [{ key: 'limit', value: '20', overridable: true }],
    });
    // The same connector as POST: never consults the cache (X-Cache BYPASS), to show the cache's share.
    await admin('POST', '/tenants/bench/connectors', {
      name: 'Echo Post',
      method: 'POST',
      url: `${upstreamUrl}/echo`,
      headers: [{ key: 'Accept', value: 'application/json', overridable: true }, { key: 'X-Tenant', value: '{{ tenant_id }}', overridable: false }],
      query_parameters: [{ key: 'limit', value: '20', overridable: true }],
    });
    const check = await fetch(`${ghUrl}/t/bench/connectors/echo/execute?q=1`);
    if (check.status !== 200) throw new Error(`execute answered ${check.status}: ${await check.text()}`);
    const xcache = check.headers.get('x-cache');

    const results: Record<string, Measured> = {};
    results.bare = await load(`http://127.0.0.1:${bare.port}/bare`, connections, duration, bare.child.pid);
    results.direct = await load(`http://127.0.0.1:${bare.port}/direct`, connections, duration, bare.child.pid);
    results.execute = await load(`${ghUrl}/t/bench/connectors/echo/execute?q=1`, connections, duration, gh.child.pid);
    results['exec-post'] = await load(`${ghUrl}/t/bench/connectors/echo-post/execute?q=1`, connections, duration, gh.child.pid, 'POST');

    const f = (n: number) => n.toFixed(2);
    console.log(`\nexecute benchmark: ${connections} connections, ${duration} s per target, node ${process.version} (X-Cache of execute: ${xcache})\n`);
    console.log('target    p50 ms   p99 ms  mean ms   req/s   CPU µs/req  errors  non-2xx');
    for (const [name, m] of Object.entries(results)) {
      console.log(
        `${name.padEnd(9)} ${f(m.p50).padStart(6)}   ${f(m.p99).padStart(6)}   ${f(m.mean).padStart(6)}  ${Math.round(m.rps).toString().padStart(6)}   ${Math.round(m.cpuUs).toString().padStart(9)}  ${String(m.errors).padStart(6)}  ${String(m.non2xx).padStart(7)}`,
      );
    }
    const e = results.execute!;
    const d = results.direct!;
    const b = results.bare!;
    console.log(`\nadded by Gatehouse vs direct undici proxy: p50 +${f(e.p50 - d.p50)} ms, p99 +${f(e.p99 - d.p99)} ms, mean +${f(e.mean - d.mean)} ms, rps ratio ${(e.rps / d.rps).toFixed(2)}, CPU +${Math.round(e.cpuUs - d.cpuUs)} µs/request`);
    console.log(`vs bare fastify route:                     p50 +${f(e.p50 - b.p50)} ms, p99 +${f(e.p99 - b.p99)} ms, rps ratio ${(e.rps / b.rps).toFixed(2)}`);
    const p = results['exec-post']!;
    console.log(`POST (no cache lookup) vs direct:          p50 +${f(p.p50 - d.p50)} ms, p99 +${f(p.p99 - d.p99)} ms, rps ratio ${(p.rps / d.rps).toFixed(2)}`);
    console.log(`goal: added p50 ≤ 1 ms on a cache miss → ${e.p50 - d.p50 <= 1 ? 'met' : 'NOT met'}`);
  } finally {
    for (const c of children) c.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    await redis.stop();
  }
}

if (role === 'upstream') void upstreamRole();
else if (role === 'bare') void bareRole();
else if (role === 'gatehouse') {
  // SIGINT ends the process normally, so a --cpu-prof profile gets written.
  process.once('SIGINT', () => process.exit(0));
  void gatehouseRole();
}
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
