/**
 * Execute benchmark: what the Gatehouse pipeline adds on a cache miss.
 *
 *   npx tsx bench/execute.bench.ts [--duration 8] [--connections 50] [--rounds 3] [--rate 1000]
 *                                  [--delay 20] [--log-level info] [--only closed|fixed] [--source]
 *                                  [--targets execute,direct]   (only these; for profiling)
 *
 * The servers run the project compiled by tsc, as in production (bench/compiled.ts); --source runs
 * the TypeScript through tsx instead.
 * Processes (all on the same machine, unpinned; on a 2-core box they share both cores):
 *   driver    this process: the load generators (autocannon for the closed loop, an undici open-loop
 *             generator for the fixed rate) and a private redis-server child
 *   upstream  node:http, `Cache-Control: no-store`, `/echo` at once and `/slow` after --delay ms
 *   baseline  one fastify app: `/bare` (a constant: the framework floor) and `/direct`, `/direct-slow`
 *             (the upstream called with undici: what any proxy costs)
 *   gatehouse the real app (api role) with LOG_LEVEL=--log-level (default: info, the product default):
 *             GET /t/bench/connectors/echo/execute (cache miss: no-store upstream), the same as POST
 *             (never consults the cache), and echo-slow (the delayed upstream)
 *
 * Two measurements, both within this one run, targets alternating round by round:
 *   closed loop  autocannon, --connections connections, as fast as possible. On a small machine this
 *                saturates the CPU, so latency there is mostly queueing and follows CPU per request.
 *   fixed rate   an open-loop generator sending --rate requests/s at even intervals over a pool of
 *                --connections connections, the same rate for direct and execute: the latency a call
 *                sees when the service is not overloaded, with µs resolution (autocannon's latency
 *                histogram has 1 ms resolution and its rate limit sends each second's budget in a burst).
 *                Latency counts from the scheduled send time, so a stalled generator cannot hide delay.
 * Each target is warmed up before each measured run. CPU per request is the serving process's
 * user+system time (from /proc) divided by the requests answered; Redis and upstream CPU are shown too.
 * `BENCH_PROFILE=<dir>` writes a V8 CPU profile of the Gatehouse process; `BENCH_PERF=1` starts it with
 * --perf-basic-prof so `perf record -g -p <pid>` (the pids are printed) names JavaScript frames.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { benchEntry } from './compiled.js';

const role = process.argv[2];
const here = fileURLToPath(import.meta.url);

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}

function argText(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : String(process.argv[i + 1]);
}

function announce(port: number): void {
  process.stdout.write(`LISTENING ${port}\n`);
}

async function upstreamRole(): Promise<void> {
  const body = JSON.stringify({ id: 1, name: 'bench', items: [1, 2, 3] });
  const delay = Number(process.env.BENCH_DELAY_MS ?? '20');
  const answer = (res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/slow')) setTimeout(() => answer(res), delay);
    else answer(res);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => announce((server.address() as { port: number }).port));
}

async function baselineRole(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/bare', async () => ({ id: 1, name: 'bench', items: [1, 2, 3] }));
  const upstream = process.env.BENCH_UPSTREAM!;
  const { Agent } = await import('undici');
  // The same pool settings as Gatehouse's upstream dispatcher (src/upstream/dispatcher.ts).
  const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 4_000 });
  const proxy = (path: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const res = await agent.request({ origin: upstream, path, method: 'GET' });
    const buf = Buffer.from(await res.body.arrayBuffer());
    reply.code(res.statusCode).header('content-type', res.headers['content-type'] as string);
    return reply.send(buf);
  };
  app.get('/direct', proxy('/echo'));
  app.get('/direct-slow', proxy('/slow'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  announce((app.server.address() as { port: number }).port);
}

async function gatehouseRole(): Promise<void> {
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/services.js');
  const { buildApp } = await import('../src/app.js');
  const config = loadConfig({ ...process.env, PORT: '0' });
  // Log lines are produced exactly as in production (pino's synchronous SonicBoom, as for stdout) but
  // written to /dev/null: their cost is measured, not that of whatever reads stdout.
  const { pino } = await import('pino');
  const log = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream);
  const services = await createServices({ config, log, stateUrl: config.redisUrl!, cacheUrl: config.redisUrl! });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  announce((app.server.address() as { port: number }).port);
}

function start(roleName: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // BENCH_PROFILE=<dir>: a V8 CPU profile of Gatehouse; BENCH_PERF=1: JIT symbols for `perf record -p`.
    // BENCH_NODE_ARGS: any further node flags for it (e.g. --heap-prof).
    // BENCH_PROFILE_ROLE=baseline|upstream applies these to another role instead.
    const prof =
      roleName !== (process.env.BENCH_PROFILE_ROLE ?? 'gatehouse')
        ? []
        : [
            ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []),
            ...(process.env.BENCH_PERF === '1' ? ['--perf-basic-prof'] : []),
            ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
          ];
    const child = spawn(process.execPath, [...prof, ...benchEntry(here), roleName], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out: string | undefined = '';
    child.stdout!.on('data', (d: Buffer) => {
      // After the port: the child's output (e.g. --trace-gc from BENCH_NODE_ARGS) goes to stderr.
      if (out === undefined) return void process.stderr.write(d);
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        out = undefined;
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${roleName} exited with ${code}`)));
  });
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

interface Pids {
  server: number | undefined;
  upstream: number | undefined;
  redis: number | undefined;
}

interface Measured {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU (user + system) per answered request, µs: of the serving process, the upstream and Redis. */
  cpuUs: number;
  upstreamCpuUs: number;
  redisCpuUs: number;
  load: number;
}

async function withCpu(pids: Pids, run: () => Promise<Omit<Measured, 'cpuUs' | 'upstreamCpuUs' | 'redisCpuUs' | 'load'>>): Promise<Measured> {
  const s0 = cpuMs(pids.server);
  const u0 = cpuMs(pids.upstream);
  const r0 = cpuMs(pids.redis);
  const m = await run();
  const per = (ms: number) => (ms * 1000) / Math.max(1, m.requests);
  return { ...m, cpuUs: per(cpuMs(pids.server) - s0), upstreamCpuUs: per(cpuMs(pids.upstream) - u0), redisCpuUs: per(cpuMs(pids.redis) - r0), load: loadavg()[0]! };
}

async function closedLoop(url: string, connections: number, duration: number, pids: Pids, method: 'GET' | 'POST'): Promise<Measured> {
  await autocannon({ url, connections, duration: 2, method }); // warm-up: pools, JIT
  return withCpu(pids, async () => {
    const r = await autocannon({ url, connections, duration, method });
    return { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, rps: r.requests.average, requests: r.requests.total, errors: r.errors + r.timeouts, non2xx: r.non2xx };
  });
}

/**
 * Open loop: request i is due at t0 + i/rate whatever happened to earlier ones; its latency counts
 * from that due time (no coordinated omission). Requests go over an undici pool of `connections`.
 */
async function fixedRate(url: string, connections: number, rate: number, duration: number, pids: Pids, method: 'GET' | 'POST'): Promise<Measured> {
  const { Pool } = await import('undici');
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const path = `${u.pathname}${u.search}`;
  const runFor = async (seconds: number, record: boolean) => {
    const total = Math.round(rate * seconds);
    const latencies: number[] = [];
    let errors = 0;
    let non2xx = 0;
    let sent = 0;
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    const one = async (due: number) => {
      try {
        const res = await pool.request({ path, method });
        await res.body.dump();
        if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        else if (record) latencies.push((performance.now() - due) * 1000);
      } catch {
        errors++;
      }
    };
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (sent < total && t0 + (sent * 1000) / rate <= now) {
          pending.push(one(t0 + (sent * 1000) / rate));
          sent++;
        }
        if (sent >= total) resolve();
        else setTimeout(tick, Math.max(0, Math.min(1, t0 + (sent * 1000) / rate - performance.now())));
      };
      tick();
    });
    await Promise.all(pending);
    return { latencies, errors, non2xx, total, seconds: (performance.now() - t0) / 1000 };
  };
  try {
    await runFor(2, false); // warm-up
    return await withCpu(pids, async () => {
      const r = await runFor(duration, true);
      const sorted = Float64Array.from(r.latencies).sort();
      const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! / 1000);
      const mean = sorted.length === 0 ? NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000;
      return { p50: pct(50), p99: pct(99), mean, rps: r.total / r.seconds, requests: r.total, errors: r.errors, non2xx: r.non2xx };
    });
  } finally {
    await pool.close();
  }
}

const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);

function table(title: string, rows: [string, Measured][], digits: (n: number) => string): void {
  console.log(`\n${title}`);
  console.log('target          p50 ms    p99 ms   mean ms    req/s  CPU µs/req  upstream µs  redis µs  load  errors non-2xx');
  for (const [name, m] of rows) {
    console.log(
      `${name.padEnd(14)} ${digits(m.p50).padStart(7)}  ${digits(m.p99).padStart(8)}  ${digits(m.mean).padStart(8)}  ${Math.round(m.rps).toString().padStart(7)}  ${Math.round(m.cpuUs).toString().padStart(10)}  ${Math.round(m.upstreamCpuUs).toString().padStart(11)}  ${Math.round(m.redisCpuUs).toString().padStart(8)}  ${m.load.toFixed(2).padStart(4)}  ${String(m.errors).padStart(6)} ${String(m.non2xx).padStart(7)}`,
    );
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const duration = arg('duration', 8);
  const connections = arg('connections', 50);
  const rounds = arg('rounds', 3);
  const rate = arg('rate', 1000);
  const delay = arg('delay', 20);
  const logLevel = argText('log-level', 'info');
  const only = argText('only', 'all');
  const { startRedisServer } = await import('../src/redis/embedded.js');
  const redis = await startRedisServer({ dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-bench-redis-')), persistent: false });
  const children: ChildProcess[] = [];
  try {
    const upstream = await start('upstream', { BENCH_DELAY_MS: String(delay) });
    children.push(upstream.child);
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const baseline = await start('baseline', { BENCH_UPSTREAM: upstreamUrl });
    children.push(baseline.child);
    const adminToken = 'bench-admin-token-0123456789abcdef';
    const gh = await start('gatehouse', {
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      GATEHOUSE_ADMIN_TOKEN: adminToken,
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      LOG_LEVEL: logLevel,
    });
    children.push(gh.child);
    const ghUrl = `http://127.0.0.1:${gh.port}`;
    const admin = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${ghUrl}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    };
    await admin('PUT', '/tenants/bench', { name: 'bench', allowed_origins: [] });
    // A typical small connector: a configured header, a templated one, a query default; caller query forwarded.
    const connector = (name: string, path: string, method?: string) => ({
      name,
      ...(method === undefined ? {} : { method }),
      url: `${upstreamUrl}${path}`,
      headers: [{ key: 'Accept', value: 'application/json', overridable: true }, { key: 'X-Tenant', value: '{{ tenant_id }}', overridable: false }],
      query_parameters: [{ key: 'limit', value: '20', overridable: true }],
    });
    await admin('POST', '/tenants/bench/connectors', connector('Echo', '/echo'));
    // The same connector as POST: never consults the cache (X-Cache BYPASS), to show the cache's share.
    await admin('POST', '/tenants/bench/connectors', connector('Echo Post', '/echo', 'POST'));
    await admin('POST', '/tenants/bench/connectors', connector('Echo Slow', '/slow'));
    const check = await fetch(`${ghUrl}/t/bench/connectors/echo/execute?q=1`);
    if (check.status !== 200) throw new Error(`execute answered ${check.status}: ${await check.text()}`);
    const xcache = check.headers.get('x-cache');

    const pid = (c: ChildProcess) => c.pid;
    const basePids: Pids = { server: pid(baseline.child), upstream: pid(upstream.child), redis: redis.pid };
    const ghPids: Pids = { server: pid(gh.child), upstream: pid(upstream.child), redis: redis.pid };
    const closedTargets: [string, string, Pids, 'GET' | 'POST'][] = [
      ['bare', `http://127.0.0.1:${baseline.port}/bare`, basePids, 'GET'],
      ['direct', `http://127.0.0.1:${baseline.port}/direct?q=1`, basePids, 'GET'],
      ['execute', `${ghUrl}/t/bench/connectors/echo/execute?q=1`, ghPids, 'GET'],
      ['exec-post', `${ghUrl}/t/bench/connectors/echo-post/execute?q=1`, ghPids, 'POST'],
    ];
    const fixedTargets: [string, string, Pids][] = [
      ['direct', `http://127.0.0.1:${baseline.port}/direct?q=1`, basePids],
      ['execute', `${ghUrl}/t/bench/connectors/echo/execute?q=1`, ghPids],
      [`direct+${delay}ms`, `http://127.0.0.1:${baseline.port}/direct-slow?q=1`, basePids],
      [`execute+${delay}ms`, `${ghUrl}/t/bench/connectors/echo-slow/execute?q=1`, ghPids],
    ];

    // --targets a,b: measure only these (for profiling one target; the summary needs direct and execute).
    const picked = argText('targets', '');
    if (picked !== '') {
      const keep = new Set(picked.split(','));
      for (const list of [closedTargets, fixedTargets] as [string, ...unknown[]][][]) {
        for (let i = list.length - 1; i >= 0; i--) if (!keep.has(list[i]![0])) list.splice(i, 1);
      }
    }
    process.stdout.write(`PIDS gatehouse=${gh.child.pid} baseline=${baseline.child.pid} upstream=${upstream.child.pid} redis=${redis.pid}\n`);

    console.log(`\nexecute benchmark: node ${process.version}, ${connections} connections, ${duration} s per run, ${rounds} rounds, LOG_LEVEL=${logLevel}, X-Cache of execute: ${xcache}`);
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const closed: Record<string, Measured[]> = {};
    const fixed: Record<string, Measured[]> = {};
    for (let round = 1; round <= rounds; round++) {
      if (only !== 'fixed') {
        const rows: [string, Measured][] = [];
        for (const [name, url, pids, method] of closedTargets) {
          const m = await closedLoop(url, connections, duration, pids, method);
          (closed[name] ??= []).push(m);
          rows.push([name, m]);
        }
        table(`round ${round}, closed loop (autocannon, ${connections} connections, latency resolution 1 ms):`, rows, f2);
      }
      if (only !== 'closed') {
        const rows: [string, Measured][] = [];
        for (const [name, url, pids] of fixedTargets) {
          const m = await fixedRate(url, connections, rate, duration, pids, 'GET');
          (fixed[name] ??= []).push(m);
          rows.push([name, m]);
        }
        table(`round ${round}, fixed rate (${rate} req/s open loop over ${connections} connections):`, rows, f3);
      }
    }

    // Each round measures direct and execute seconds apart, so differences are taken per round (paired)
    // and the median of those is reported: other load on a shared machine shifts both alike.
    const paired = (a: Measured[], b: Measured[], key: keyof Measured) => median(a.map((m, i) => (m[key] as number) - (b[i]![key] as number)));
    const ratio = (a: Measured[], b: Measured[]) => median(a.map((m, i) => m.rps / b[i]!.rps));
    const med = (list: Measured[] | undefined, key: keyof Measured) => median((list ?? []).map((m) => m[key] as number));
    console.log(`\nsummary: medians over ${rounds} rounds of the per-round differences (execute − direct, same round)`);
    if (only !== 'fixed') {
      const d = closed.direct!;
      const e = closed.execute!;
      const p = closed['exec-post']!;
      const added = paired(e, d, 'p50');
      console.log(`closed loop, ${connections} connections, per round: p50 +${e.map((m, i) => f2(m.p50 - d[i]!.p50)).join(' / +')} ms`);
      console.log(
        `  execute − direct: p50 +${f2(added)} ms, p99 +${f2(paired(e, d, 'p99'))} ms, mean +${f2(paired(e, d, 'mean'))} ms, rps ratio ${ratio(e, d).toFixed(2)}, CPU +${Math.round(paired(e, d, 'cpuUs'))} µs/request (medians: execute ${Math.round(med(e, 'cpuUs'))}, direct ${Math.round(med(d, 'cpuUs'))}, bare ${Math.round(med(closed.bare, 'cpuUs'))} µs)`,
      );
      console.log(`  POST (no cache lookup) − direct: p50 +${f2(paired(p, d, 'p50'))} ms, CPU +${Math.round(paired(p, d, 'cpuUs'))} µs/request`);
      console.log(`  goal (added p50 ≤ 1 ms) at saturation: ${added <= 1 ? 'met' : 'NOT met'}`);
    }
    if (only !== 'closed') {
      const d = fixed.direct!;
      const e = fixed.execute!;
      const ds = fixed[`direct+${delay}ms`]!;
      const es = fixed[`execute+${delay}ms`]!;
      const added = paired(e, d, 'p50');
      const addedSlow = paired(es, ds, 'p50');
      console.log(`fixed rate ${rate} req/s, per round: p50 +${e.map((m, i) => f3(m.p50 - d[i]!.p50)).join(' / +')} ms; with a ${delay} ms upstream +${es.map((m, i) => f3(m.p50 - ds[i]!.p50)).join(' / +')} ms`);
      console.log(`  execute − direct: p50 +${f3(added)} ms, p99 +${f3(paired(e, d, 'p99'))} ms, mean +${f3(paired(e, d, 'mean'))} ms, CPU +${Math.round(paired(e, d, 'cpuUs'))} µs/request`);
      console.log(`  with a ${delay} ms upstream: p50 +${f3(addedSlow)} ms, p99 +${f3(paired(es, ds, 'p99'))} ms, mean +${f3(paired(es, ds, 'mean'))} ms`);
      console.log(`  goal (added p50 ≤ 1 ms) below saturation: ${added <= 1 && addedSlow <= 1 ? 'met' : 'NOT met'}`);
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const c of children) c.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    await redis.stop();
  }
}

if (role === 'upstream') void upstreamRole();
else if (role === 'baseline') void baselineRole();
else if (role === 'gatehouse') {
  // SIGINT ends the process normally, so a --cpu-prof profile gets written.
  process.once('SIGINT', () => process.exit(0));
  void gatehouseRole();
} else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
