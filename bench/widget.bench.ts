/**
 * The widget path measured the way a user's load test sees it.
 *
 *   npm run bench:widget [-- --duration 5] [--connections 50] [--rounds 2] [--warmup 3] [--only hit,widget]
 *
 * Every server runs in its own process. The one being measured is pinned to core 1 with
 * `taskset -a -p` (all its threads); every other process — the load generator (`wrk`, else the
 * autocannon CLI), the origin, Redis and the servers not being measured — stays on core 0.
 * Scenarios alternate within one run (F U N-hit N-miss hit hit-nometrics widget widget-nometrics miss
 * … composite, then again), so the ratios compare numbers taken under the same machine load. Per
 * run: requests per second, p99,
 * the server's CPU µs per request from /proc/<pid>/stat (utime + stime), and for Gatehouse the Redis
 * commands per request (INFO commandstats before and after).
 *
 *   F          a bare fastify route answering the same 1 KiB JSON body from memory
 *   U          the origin itself (node:http, 1 KiB, `Cache-Control: no-store`)
 *   N-hit      nginx `proxy_cache` hit in front of the origin (when nginx is installed)
 *   N-miss     nginx plain `proxy_pass` to the no-store path
 *   hit        Gatehouse cache HIT, anonymous, a static header and query parameter
 *   widget     Gatehouse HIT on the widget path: HS256 session JWT, `user_id={{ user.id }}` query,
 *              `api_key` from `{{ get_secret('api_key') }}`
 *   miss       Gatehouse MISS (the origin answers no-store)
 *   composite  Gatehouse composite connector of two steps (never cached)
 *   hit-nometrics, widget-nometrics
 *              hit and widget again in the same Gatehouse process with its execute metrics switched
 *              off (what METRICS_EXECUTE=false turns off: the request metrics, the connector-series
 *              cap and the usage minute buckets), run right after the row with them on: the cost of
 *              those metrics, round by round, without the 2–10 µs per request two processes differ
 *              by on their own
 *   hit-traced, widget-traced, miss-traced
 *              the same in a twin Gatehouse process with tracing on (OTLP/HTTP to a sink process
 *              that accepts every export, `parentbased_traceidratio` at 10%), compared with hit,
 *              widget and miss of the main process
 *   hit-untraced, widget-untraced, miss-untraced
 *              the traced twin again with its tracing switched off over the IPC channel (executions
 *              get no trace, as without OTEL_* settings), run right after the traced row: the cost
 *              of tracing in one process, round by round, without the twins' own difference
 *   hit-2proc, widget-2proc
 *              `gatehouse serve --role api --processes 2` (the compiled CLI) on both cores, which
 *              it shares with the load generator on a 2-core machine
 * Then the unloaded miss overhead (when miss is among the scenarios): one connection, U and miss, mean latency.
 *
 * `BENCH_BASE_BUILD=<dir>` adds hit-base, widget-base, miss-base (also unloaded) and composite-base: the same scenarios served by a twin started from
 * another compiled build (e.g. the code before a change, compiled with tsc into a directory under
 * node_modules/.cache so packages resolve), alternated with the others: a before/after in one run.
 *
 * `BENCH_PROFILE=<dir>` writes a V8 CPU profile of each Gatehouse process (node --cpu-prof; the
 * traced twin's and the BENCH_BASE_BUILD twin's too, the pids are printed). `BENCH_PERF=1`: the same processes write JIT
 * symbols for `perf record -g -p <pid>` (--perf-basic-prof), which shows V8's builtins and the kernel too. `BENCH_GC=1`: each Gatehouse process prints its garbage
 * collections when it stops. `BENCH_TRACE_RATIO` (default 0.1) and any OTEL_* variable of the
 * bench's environment configure the traced twin; `BENCH_TRACED_NODE_ARGS` adds node/V8 flags to it only
 * (e.g. `--log-deopt --logfile=<file> --no-logfile-per-isolate`). CPU per request also shows the share of the helper
 * threads (V8's GC and compiler threads), which a CPU profile of the main thread does not see.
 * `--warmup <s>` (default 3): one uncounted pass over the scenarios before the rounds.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { benchEntry } from './compiled.js';

const here = fileURLToPath(import.meta.url);
const role = process.argv[2];

const PAYLOAD = Buffer.from(
  JSON.stringify({ items: Array.from({ length: 11 }, (_, i) => ({ id: `item-${i}`, title: `Title number ${i}`, score: i * 7 })), pad: '' }).padEnd(1023, ' ') + '\n',
);
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef';
const API_KEY = 'bench-api-key-5f1c2e9a';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}
function argText(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : String(process.argv[i + 1]);
}

// ─── server roles (each in its own process) ───────────────────────────────────────────────────────

async function originRole(): Promise<void> {
  const server = createServer((req, res) => {
    const cacheable = req.url?.startsWith('/cached') === true;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheable ? 'public, max-age=3600' : 'no-store', 'content-length': PAYLOAD.length });
    res.end(PAYLOAD);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
}

/** An OTLP/HTTP endpoint that accepts every export (the traced twin sends its spans here). */
async function otlpSinkRole(): Promise<void> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`));
}

async function bareRole(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/bare', async (_request, reply) => reply.header('content-type', 'application/json').send(PAYLOAD));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`READY ${JSON.stringify({ url: `${url}/bare` })}\n`);
}

/** BENCH_GC=1: each Gatehouse process prints its garbage collections (count and pause by kind) when it stops. */
async function countGc(name: string): Promise<void> {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  const kinds: Record<number, string> = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
  const seen = new Map<string, { n: number; ms: number }>();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      const s = seen.get(kind) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += e.duration;
      seen.set(kind, s);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', () => process.stderr.write(`GC of ${name} (pid ${process.pid}): ${[...seen].map(([k, v]) => `${k} ${v.n}× ${v.ms.toFixed(0)} ms`).join(', ')}\n`));
}

async function gatehouseRole(): Promise<void> {
  if (process.env.BENCH_GC === '1') await countGc(process.env.BENCH_OTLP_ENDPOINT !== undefined ? 'the traced twin' : process.env.BENCH_SETUP === 'false' ? 'a twin' : 'gatehouse');
  const origin = process.env.BENCH_ORIGIN!;
  const redisUrl = process.env.BENCH_REDIS_URL!;
  // One home (master key) for every Gatehouse process of the run: they share the tenants' sealed data keys.
  const home = process.env.BENCH_HOME!;
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/services.js');
  const { buildApp } = await import('../src/app.js');
  const { pino } = await import('pino');
  const config = loadConfig({
    NODE_ENV: 'bench',
    GATEHOUSE_HOME: home,
    REDIS_URL: redisUrl,
    GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN,
    UPSTREAM_ALLOW_HTTP: 'true',
    UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
    LOG_LEVEL: 'info',
    // The traced twin: tracing on, 10% of new traces sampled, spans sent to the sink.
    ...(process.env.BENCH_OTLP_ENDPOINT !== undefined
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: process.env.BENCH_OTLP_ENDPOINT,
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: process.env.BENCH_TRACE_RATIO ?? '0.1',
          // Other OTEL_* settings of the bench's environment (batch size, protocol …) reach the traced twin.
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('OTEL_') && k !== 'OTEL_EXPORTER_OTLP_ENDPOINT')),
        }
      : {}),
  });
  // The product's default level, lines produced as for stdout but written to /dev/null.
  const log = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream);
  const services = await createServices({ config, log, stateUrl: redisUrl, cacheUrl: redisUrl });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const admin = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${base}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  // The driver switches the execute metrics between runs over the IPC channel it opens to this
  // process alone (stdio 'ipc'): the process measured with metrics on and off is the same one. The
  // channel exists only when this benchmark starts the process; nothing of it is reachable over HTTP.
  // The traced twin is switched the same way between tracing on and off: off, executions get no
  // trace (what a process without OTEL_* settings does per request; the SDK stays loaded, idle).
  const tracing = services.tracing;
  const tracedExecute = tracing?.execute.bind(tracing);
  let tracingOn = tracing !== undefined;
  if (process.send !== undefined) {
    process.on('message', (msg: { metricsExecute?: unknown; tracing?: unknown }) => {
      if (typeof msg?.metricsExecute === 'boolean') {
        services.telemetry.executions.enabled = msg.metricsExecute;
        process.send!({ metricsExecute: services.telemetry.executions.enabled });
      }
      if (typeof msg?.tracing === 'boolean' && tracing !== undefined && tracedExecute !== undefined) {
        tracingOn = msg.tracing;
        // The execute route skips a call's trace when execute() gives none (as when tracing is off).
        tracing.execute = tracingOn ? tracedExecute : ((() => undefined) as unknown as typeof tracedExecute);
        process.send!({ tracing: tracingOn });
      }
    });
    // The driver gone (it crashed or was killed): nothing will stop this process otherwise.
    process.on('disconnect', () => process.exit(0));
  }
  // A twin process serves the state the first one created in the shared Redis.
  if (process.env.BENCH_SETUP === 'false') {
    process.on('SIGTERM', () => process.exit(0));
    process.stdout.write(`READY ${JSON.stringify({ base })}\n`);
    return;
  }
  await admin('PUT', '/tenants/bench', { name: 'Bench', allowed_origins: ['https://widget.example'], session: { alg: 'HS256', secret: SESSION_SECRET } });
  await admin('PUT', '/tenants/bench/secrets/api_key', { value: API_KEY });
  await admin('POST', '/tenants/bench/connectors', {
    name: 'Hit',
    url: `${origin}/cached/weather`,
    headers: [{ key: 'Accept', value: 'application/json', overridable: false }],
    query_parameters: [{ key: 'location', value: 'New York', overridable: false }],
  });
  await admin('POST', '/tenants/bench/connectors', {
    name: 'Widget',
    url: `${origin}/cached/profile`,
    query_parameters: [{ key: 'user_id', value: '{{ user.id }}', overridable: false }],
    authentication: { type: 'api_key', config: { key: 'api_key', value: "{{ get_secret('api_key') }}", in: 'query' } },
  });
  await admin('POST', '/tenants/bench/connectors', { name: 'Miss', url: `${origin}/nostore/weather` });
  const step = (name: string, url: string) => ({ name, url, method: 'GET', headers: [], query_parameters: [], authentication: { type: 'none' }, request_body: '', response_body: '', response_content_type: '' });
  await services.registry.replaceLink('bench', 'bench/widgets', {
    connectors: [],
    composites: [{ name: 'Two Steps', permalink: 'two-steps', steps: [step('first', `${origin}/nostore/a`), step('second', `${origin}/nostore/b`)] }] as never,
    commitSha: 'b'.repeat(40),
  });
  // An orderly exit writes the CPU profile (--cpu-prof) when one was asked for.
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write(`READY ${JSON.stringify({ base })}\n`);
}

// ─── driver ───────────────────────────────────────────────────────────────────────────────────────

interface Server {
  name: string;
  child: ChildProcess;
  ready: Record<string, string | number>;
}

function startRole(name: string, env: Record<string, string> = {}, nodeArgs: string[] = [], entry: string[] = benchEntry(here), ipc = false): Promise<Server> {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, ...entry, name], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? ['ipc' as const] : [])] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (.*)\n/.exec(out);
      if (m !== null) resolve({ name, child, ready: JSON.parse(m[1]!) as Record<string, string> });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

function pin(pid: number, cores: number | string): void {
  const r = spawnSync('taskset', ['-a', '-pc', String(cores), String(pid)], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`taskset failed for ${pid}`);
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function cpuMicros(pid: number, file = `/proc/${pid}/stat`): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5), counted after the name)
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/** The process and its children (`gatehouse serve --processes N`: the primary and its workers). */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return [pid, ...(children === '' ? [] : children.split(' ').map(Number).flatMap(processTree))];
}

function treeCpuMicros(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + cpuMicros(p), 0);
}

/** CPU µs of the process's threads other than its main (JavaScript) thread: V8's GC and compiler helpers, libuv's pool. */
function helperThreadsCpuMicros(pid: number): number {
  let sum = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    if (Number(task) === pid) continue;
    try {
      sum += cpuMicros(Number(task), `/proc/${pid}/task/${task}/stat`);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return sum;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

interface Load {
  requests: number;
  rps: number;
  p99Ms: number;
  meanMs: number;
  errors: number;
}

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

const hasWrk = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;

interface Target {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

function runLoad(target: Target, seconds: number, connections: number, dir: string): Load {
  if (hasWrk) {
    const script = join(dir, `wrk-${Math.random().toString(36).slice(2)}.lua`);
    const lines = [`wrk.method = ${JSON.stringify(target.method ?? 'GET')}`];
    if (target.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(target.body)}`);
    for (const [k, v] of Object.entries(target.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
    writeFileSync(script, `${lines.join('\n')}\n`);
    const r = spawnSync('taskset', ['-c', '0', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, target.url], { encoding: 'utf8' });
    const out = r.stdout;
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
    const mean = toMs(/Latency\s+(\S+)/.exec(out)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = non2xx + (socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0));
    if (!Number.isFinite(requests)) throw new Error(`wrk output not understood:\n${out}\n${r.stderr}`);
    return { requests, rps, p99Ms: p99, meanMs: mean, errors };
  }
  const args = ['-c', String(connections), '-d', String(seconds), '-j', '-m', target.method ?? 'GET'];
  for (const [k, v] of Object.entries(target.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (target.body !== undefined) args.push('-b', target.body);
  const bin = join(here, '..', '..', 'node_modules', '.bin', 'autocannon');
  const r = spawnSync('taskset', ['-c', '0', bin, ...args, target.url], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { requests: { total: number; average: number }; latency: { p99: number; average: number }; non2xx: number; errors: number };
  return { requests: j.requests.total, rps: j.requests.average, p99Ms: j.latency.p99, meanMs: j.latency.average, errors: j.non2xx + j.errors };
}

async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') total += Number(m[2]);
  return total;
}

function sessionJwt(): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ tid: 'bench', sub: 'user-4711', email: 'jo@example.com', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${head}.${createHmac('sha256', SESSION_SECRET).update(head).digest('base64url')}`;
}

function startNginx(dir: string, originPort: number, port: number): ChildProcess | undefined {
  if (spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error !== undefined) return undefined;
  mkdirSync(join(dir, 'cache'), { recursive: true });
  // One process (no master): like the one Node process, pinned as a whole.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/t1; proxy_temp_path ${dir}/t2; fastcgi_temp_path ${dir}/t3; uwsgi_temp_path ${dir}/t4; scgi_temp_path ${dir}/t5;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:10m max_size=100m inactive=60m use_temp_path=off;
  upstream origin { server 127.0.0.1:${originPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location /cached/ { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_cache bench; add_header X-Cache $upstream_cache_status; }
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  return spawn('taskset', ['-c', '0', 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
}

/**
 * `gatehouse serve --processes 2 --role api` as a user starts it (the compiled CLI), on the same
 * Redis and so the same tenant and connectors. Measured on both cores — which it shares with the
 * load generator on this 2-core machine, so its row is what two cores give, load generator included.
 */
async function startCluster(dir: string, redisUrl: string, port: number): Promise<{ child: ChildProcess; base: string }> {
  // npm runs benchmarks from the project's root (this file may be its compiled twin elsewhere).
  const repoBin = join(process.cwd(), 'bin', 'gatehouse.js');
  if (!existsSync(repoBin)) throw new Error(`${repoBin} not found: run the benchmark from the project's root (npm run bench:widget)`);
  const child = spawn('taskset', ['-c', '0', process.execPath, repoBin, 'serve', '--role', 'api', '--processes', '2'], {
    env: {
      ...process.env,
      NODE_ENV: 'bench',
      GATEHOUSE_HOME: join(dir, 'home'),
      REDIS_URL: redisUrl,
      GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN,
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`gatehouse serve --processes 2 exited with ${child.exitCode}`);
    const up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (up && processTree(child.pid!).length >= 3) return { child, base };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gatehouse serve --processes 2 did not answer /healthz within 60 s');
}

interface Scenario {
  name: string;
  pid: number;
  target: Target;
  gatehouse: boolean;
  /** The cores the measured server gets (default: core 1 alone; the load generator stays on 0). */
  cores?: string;
  /** Run with the main Gatehouse process's execute metrics switched off (they are on for every other run). */
  metricsOff?: boolean;
  /** Run with the traced twin's tracing switched off (it is on for every other run). */
  tracingOff?: boolean;
}

/** A row measured with something switched off in the process of the row before it. */
const switchedOff = (s: Scenario) => s.metricsOff === true || s.tracingOff === true;

/** The scenarios with each switched-off row (metrics or tracing) moved before the row with it on that it follows. */
function offFirst(scenarios: Scenario[]): Scenario[] {
  const order = [...scenarios];
  for (let i = 1; i < order.length; i++) {
    if (switchedOff(order[i]!) && !switchedOff(order[i - 1]!)) [order[i - 1], order[i]] = [order[i]!, order[i - 1]!];
  }
  return order;
}

/**
 * Switches the execute metrics (`metricsExecute`) or tracing (`tracing`) of a Gatehouse process the
 * driver holds an IPC channel to; resolves once it has.
 */
function switchProcess(child: ChildProcess, what: 'metricsExecute' | 'tracing', on: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Gatehouse process did not confirm the ${what} switch within 5 s`)), 5000);
    child.once('message', (msg: Record<string, boolean | undefined>) => {
      clearTimeout(timer);
      if (msg[what] === on) resolve();
      else reject(new Error(`the Gatehouse process answered ${JSON.stringify(msg)} to the ${what} switch`));
    });
    child.send({ [what]: on });
  });
}

interface Row {
  runs: (Load & { cpuUsPerReq: number; redisPerReq: number | undefined })[];
}

async function driver(): Promise<void> {
  const seconds = arg('duration', 5);
  const connections = arg('connections', 50);
  const rounds = arg('rounds', 2);
  const only = argText('only', '');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-widget-bench-'));
  mkdirSync(join(dir, 'home'));
  process.env.BENCH_HOME = join(dir, 'home');
  const { startRedisServer, freePort } = await import('../src/redis/embedded.js');
  const redisServer = await startRedisServer({ dataDir: join(dir, 'redis'), persistent: false });
  if (redisServer.pid !== undefined) pin(redisServer.pid, 0);
  const redis = new Redis(redisServer.url);
  const children: ChildProcess[] = [];
  try {
    const origin = await startRole('origin');
    children.push(origin.child);
    const originUrl = `http://127.0.0.1:${origin.ready.port}`;
    const bare = await startRole('bare');
    children.push(bare.child);
    const profile = process.env.BENCH_PROFILE;
    // Every Gatehouse process of the run writes its own profile (CPU.<date>.<pid>.….cpuprofile); the pids are printed.
    // BENCH_PERF=1: JIT symbols for `perf record -g -p <pid>` (node writes /tmp/perf-<pid>.map).
    const profiled = [...(profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile]), ...(process.env.BENCH_PERF === '1' ? ['--perf-basic-prof'] : [])];
    const gatehouse = await startRole('gatehouse', { BENCH_ORIGIN: originUrl, BENCH_REDIS_URL: redisServer.url }, profiled, undefined, true);
    children.push(gatehouse.child);
    const base = String(gatehouse.ready.base);
    const sink = await startRole('otlp-sink');
    children.push(sink.child);
    // BENCH_TRACED_NODE_ARGS: node/V8 flags for the traced twin only, e.g. `--log-deopt --logfile=<file> --no-logfile-per-isolate`
    // (V8's --trace-* output, written to the twin's stdout pipe, arrived incomplete: log to a file instead).
    const tracedArgs = (process.env.BENCH_TRACED_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const traced = await startRole('gatehouse', { BENCH_ORIGIN: originUrl, BENCH_REDIS_URL: redisServer.url, ...(process.env.BENCH_TWIN_PLAIN === '1' ? {} : { BENCH_OTLP_ENDPOINT: String(sink.ready.url) }), BENCH_SETUP: 'false' }, [...profiled, ...tracedArgs], undefined, true);
    children.push(traced.child);
    if (profile !== undefined || process.env.BENCH_PERF === '1') process.stderr.write(`${profile === undefined ? 'Profiled processes' : `CPU profiles in ${profile}`}: gatehouse (and -nometrics) pid ${gatehouse.child.pid}, -traced pid ${traced.child.pid}\n`);
    // BENCH_BASE_BUILD=<dir>: a twin from another compiled build (the code before a change), for an A/B in one run.
    const baseBuild = process.env.BENCH_BASE_BUILD;
    const before = baseBuild === undefined ? undefined : await startRole('gatehouse', { BENCH_ORIGIN: originUrl, BENCH_REDIS_URL: redisServer.url, BENCH_SETUP: 'false' }, profiled, [join(baseBuild, 'bench', 'widget.bench.js')]);
    if (before !== undefined) children.push(before.child);
    if (before !== undefined && (profile !== undefined || process.env.BENCH_PERF === '1')) process.stderr.write(`The BENCH_BASE_BUILD twin: pid ${before.child.pid}\n`);
    const cluster = await startCluster(dir, redisServer.url, await freePort());
    children.push(cluster.child);
    const nginxPort = await freePort();
    const nginx = startNginx(join(dir, 'nginx'), Number(origin.ready.port), nginxPort);
    if (nginx !== undefined) {
      children.push(nginx);
      for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${nginxPort}/cached/weather`).then((r) => !r.ok, () => true)); i++) await new Promise((r) => setTimeout(r, 50));
    }
    const jwt = sessionJwt();
    const exec = (permalink: string) => `${base}/t/bench/connectors/${permalink}/execute`;
    const g = gatehouse.child.pid!;
    const all: Scenario[] = [
      { name: 'F', pid: bare.child.pid!, target: { url: String(bare.ready.url) }, gatehouse: false },
      { name: 'U', pid: origin.child.pid!, target: { url: `${originUrl}/nostore/weather` }, gatehouse: false },
      ...(nginx === undefined
        ? []
        : [
            { name: 'N-hit', pid: nginx.pid!, target: { url: `http://127.0.0.1:${nginxPort}/cached/weather` }, gatehouse: false },
            { name: 'N-miss', pid: nginx.pid!, target: { url: `http://127.0.0.1:${nginxPort}/nostore/weather` }, gatehouse: false },
          ]),
      { name: 'hit', pid: g, target: { url: exec('hit') }, gatehouse: true },
      { name: 'hit-nometrics', pid: g, target: { url: exec('hit') }, gatehouse: true, metricsOff: true },
      { name: 'widget', pid: g, target: { url: exec('widget'), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true },
      { name: 'widget-nometrics', pid: g, target: { url: exec('widget'), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true, metricsOff: true },
      { name: 'miss', pid: g, target: { url: exec('miss') }, gatehouse: true },
      { name: 'hit-traced', pid: traced.child.pid!, target: { url: exec('hit').replace(base, String(traced.ready.base)) }, gatehouse: true },
      { name: 'widget-traced', pid: traced.child.pid!, target: { url: exec('widget').replace(base, String(traced.ready.base)), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true },
      { name: 'miss-traced', pid: traced.child.pid!, target: { url: exec('miss').replace(base, String(traced.ready.base)) }, gatehouse: true },
      // The traced twin with its tracing switched off between runs: the cost of tracing in one process.
      { name: 'hit-untraced', pid: traced.child.pid!, target: { url: exec('hit').replace(base, String(traced.ready.base)) }, gatehouse: true, tracingOff: true },
      { name: 'widget-untraced', pid: traced.child.pid!, target: { url: exec('widget').replace(base, String(traced.ready.base)), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true, tracingOff: true },
      { name: 'miss-untraced', pid: traced.child.pid!, target: { url: exec('miss').replace(base, String(traced.ready.base)) }, gatehouse: true, tracingOff: true },
      { name: 'hit-2proc', pid: cluster.child.pid!, target: { url: exec('hit').replace(base, cluster.base) }, gatehouse: true, cores: '0,1' },
      { name: 'widget-2proc', pid: cluster.child.pid!, target: { url: exec('widget').replace(base, cluster.base), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true, cores: '0,1' },
      ...(before === undefined
        ? []
        : [
            { name: 'hit-base', pid: before.child.pid!, target: { url: exec('hit').replace(base, String(before.ready.base)) }, gatehouse: true },
            { name: 'widget-base', pid: before.child.pid!, target: { url: exec('widget').replace(base, String(before.ready.base)), headers: { authorization: `Bearer ${jwt}`, origin: 'https://widget.example' } }, gatehouse: true },
            { name: 'miss-base', pid: before.child.pid!, target: { url: exec('miss').replace(base, String(before.ready.base)) }, gatehouse: true },
            { name: 'composite-base', pid: before.child.pid!, target: { url: `${String(before.ready.base)}/t/bench/composite-connectors/two-steps/execute`, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, gatehouse: true },
          ]),
      { name: 'composite', pid: g, target: { url: `${base}/t/bench/composite-connectors/two-steps/execute`, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, gatehouse: true },
    ];
    const scenarios = only === '' ? all : all.filter((s) => only.split(',').includes(s.name));
    // The main process's execute metrics as the next run needs them (on unless the scenario says off).
    // The traced twin's tracing likewise (on unless the scenario says off).
    const metricsFor = async (s: Scenario) => {
      if (s.pid === g) await switchProcess(gatehouse.child, 'metricsExecute', s.metricsOff !== true);
      if (s.pid === traced.child.pid && process.env.BENCH_TWIN_PLAIN !== '1') await switchProcess(traced.child, 'tracing', s.tracingOff !== true);
    };
    // Every scenario answers 200 before anything is measured (and the caches are warm).
    for (const s of scenarios) {
      const r = await fetch(s.target.url, { method: s.target.method ?? 'GET', headers: s.target.headers, body: s.target.body });
      if (r.status !== 200) throw new Error(`${s.name}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }
    const pids = [...new Set(all.map((s) => s.pid))];
    // The twins served nothing yet (the first Gatehouse process created the tenants and connectors
    // through its admin API): one pass over every scenario, not counted, lets each process compile
    // its hot code before the rounds, so round 1 of a twin does not carry its JIT work.
    const warmup = arg('warmup', 3);
    for (const s of warmup > 0 ? scenarios : []) {
      for (const pid of pids) for (const p of processTree(pid)) pin(p, pid === s.pid ? (s.cores ?? 1) : 0);
      await metricsFor(s);
      runLoad(s.target, warmup, connections, dir);
    }
    const rows = new Map<string, Row>(scenarios.map((s) => [s.name, { runs: [] }]));
    const load0 = loadavg();
    process.stderr.write(`loadavg before: ${load0.map((l) => l.toFixed(2)).join(' ')}; ${hasWrk ? 'wrk' : 'autocannon'}, ${connections} connections, ${seconds} s per run, ${rounds} rounds\n`);
    for (let round = 0; round < rounds; round++) {
      // Every other round runs the metrics-off row of each pair first (on off, off on, …), so that
      // neither state always follows the other (what the run before leaves, e.g. garbage to collect).
      for (const s of round % 2 === 0 ? scenarios : offFirst(scenarios)) {
        for (const pid of pids) for (const p of processTree(pid)) pin(p, pid === s.pid ? (s.cores ?? 1) : 0);
        await metricsFor(s);
        runLoad(s.target, 1, connections, dir); // warm-up, not counted
        const cpu0 = treeCpuMicros(s.pid);
        const helpers0 = s.gatehouse ? helperThreadsCpuMicros(s.pid) : 0;
        const cmd0 = s.gatehouse ? await commandCalls(redis) : 0;
        const load = runLoad(s.target, seconds, connections, dir);
        const cpu = treeCpuMicros(s.pid) - cpu0;
        // Of the CPU per request, what the helper threads (GC, compiler) took: heap pressure shows here, not in a CPU profile.
        const helpers = s.gatehouse ? helperThreadsCpuMicros(s.pid) - helpers0 : undefined;
        const cmds = s.gatehouse ? (await commandCalls(redis)) - cmd0 - 1 : undefined;
        rows.get(s.name)!.runs.push({ ...load, cpuUsPerReq: cpu / load.requests, redisPerReq: cmds === undefined ? undefined : cmds / load.requests });
        process.stderr.write(`  ${s.name.padEnd(10)} ${load.rps.toFixed(0).padStart(7)} rps  p99 ${load.p99Ms.toFixed(2)} ms  ${(cpu / load.requests).toFixed(1)} µs/req${helpers === undefined ? '' : ` (${(helpers / load.requests).toFixed(1)} in helper threads)`}${cmds === undefined ? '' : `  ${(cmds / load.requests).toFixed(4)} Redis cmd/req`}${load.errors > 0 ? `  ${load.errors} errors` : ''}\n`);
      }
    }
    // Unloaded: one connection, U and miss, alternated.
    // (Only when miss is among the scenarios: `--only` without it skips this part.)
    const single: Record<string, number[]> = scenarios.some((s) => s.name === 'miss') ? { U: [], miss: [], ...(before !== undefined ? { 'miss-base': [] } : {}) } : {};
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(single)) {
        const s = all.find((x) => x.name === name)!;
        for (const pid of pids) for (const p of processTree(pid)) pin(p, pid === s.pid ? 1 : 0);
        await metricsFor(s);
        single[name]!.push(runLoad(s.target, seconds, 1, dir).meanMs);
      }
    }
    const load1 = loadavg();
    const best = (name: string) => {
      const runs = rows.get(name)?.runs ?? [];
      if (runs.length === 0) return undefined;
      // The median run by rps (of two: the better one, the run least disturbed by other load).
      const sorted = [...runs].sort((a, b) => b.rps - a.rps);
      return sorted[Math.floor((sorted.length - 1) / 2)]!;
    };
    const F = best('F');
    const U = best('U');
    const NH = best('N-hit');
    const NM = best('N-miss');
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '' : `${(a / b).toFixed(2)}×`);
    const lines = [
      `| scenario | rps | p99 | CPU per request | Redis commands per request | ratio |`,
      `|---|---|---|---|---|---|`,
    ];
    const refs: Record<string, [string, Load | undefined][]> = {
      'N-miss': [['U', U]],
      hit: [['F', F], ['N-hit', NH]],
      widget: [['F', F]],
      miss: [['N-miss', NM], ['U', U]],
      composite: [['F', F], ['U', U]],
      'hit-nometrics': [['F', F]],
      'widget-nometrics': [['F', F]],
      'hit-traced': [['F', F]],
      'widget-traced': [['F', F]],
      'miss-traced': [['U', U]],
      'hit-untraced': [['F', F]],
      'widget-untraced': [['F', F]],
      'miss-untraced': [['U', U]],
      'hit-2proc': [['F', F]],
      'widget-2proc': [['F', F]],
    };
    for (const s of scenarios) {
      const r = best(s.name)!;
      const rat = (refs[s.name] ?? []).filter(([, l]) => l !== undefined).map(([n, l]) => `${ratio(r.rps, l!.rps)} ${n}`).join(', ');
      lines.push(`| ${s.name} | ${(r.rps / 1000).toFixed(1)}k | ${r.p99Ms.toFixed(1)} ms | ${r.cpuUsPerReq.toFixed(0)} µs | ${r.redisPerReq === undefined ? '—' : r.redisPerReq.toFixed(4)} | ${rat || '—'} |`);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cost = (on: string, off: string, what: string) => {
      const a = best(on);
      const b = best(off);
      if (a === undefined || b === undefined) return undefined;
      // Round by round too: the two runs of one round are minutes apart at most, under the same machine load.
      const onRuns = rows.get(on)!.runs;
      const offRuns = rows.get(off)!.runs;
      const perRound = onRuns.map((r, i) => `${(r.cpuUsPerReq - offRuns[i]!.cpuUsPerReq).toFixed(1)} µs / ${(((offRuns[i]!.rps - r.rps) / offRuns[i]!.rps) * 100).toFixed(0)}%`).join(', ');
      return `${on} ${(((b.rps - a.rps) / b.rps) * 100).toFixed(1)}% fewer rps with ${what} than without, CPU per request ${(a.cpuUsPerReq - b.cpuUsPerReq).toFixed(1)} µs more (round by round: ${perRound})`;
    };
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const m = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
    };
    // One process, metrics on then off in consecutive runs of each round: each round gives one
    // difference. Its share of the CPU per request (with metrics) is the throughput a CPU-bound core
    // loses to them; the rps difference is shown beside it.
    const switchedCost = (on: string, off: string) => {
      const onRuns = rows.get(on)?.runs ?? [];
      const offRuns = rows.get(off)?.runs ?? [];
      if (onRuns.length === 0 || offRuns.length !== onRuns.length) return undefined;
      const perRound = onRuns.map((r, i) => {
        const o = offRuns[i]!;
        const us = r.cpuUsPerReq - o.cpuUsPerReq;
        // A run with errors or almost no requests (the machine stalled) says nothing about the metrics.
        const broken = r.errors + o.errors > 0 || Math.min(r.requests, o.requests) < 1000;
        return { us, cpuPct: (us / r.cpuUsPerReq) * 100, rpsPct: ((o.rps - r.rps) / o.rps) * 100, onUs: r.cpuUsPerReq, offUs: o.cpuUsPerReq, broken };
      });
      const kept = perRound.filter((x) => !x.broken);
      if (kept.length === 0) return `${on}: no round without errors`;
      const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
      const fmt = (x: { us: number; cpuPct: number; rpsPct: number }) => `${signed(x.us, 1)} µs = ${signed(x.cpuPct, 1)} % of the CPU per request, rps ${signed(-x.rpsPct, 1)} %`;
      const mid = { us: median(kept.map((x) => x.us)), cpuPct: median(kept.map((x) => x.cpuPct)), rpsPct: median(kept.map((x) => x.rpsPct)) };
      const round = (x: (typeof perRound)[number]) => (x.broken ? 'left out (errors or a stall)' : `${x.onUs.toFixed(1)} − ${x.offUs.toFixed(1)} = ${fmt(x)}`);
      return `${on} median of ${kept.length} rounds ${fmt(mid)}; round by round (CPU per request on − off, µs): ${perRound.map(round).join(' | ')}`;
    };
    const metricsCost = [switchedCost('hit', 'hit-nometrics'), switchedCost('widget', 'widget-nometrics')].filter((x) => x !== undefined);
    if (metricsCost.length > 0) lines.push('', `Metrics cost (execute metrics on vs off in the same process, switched between consecutive runs): ${metricsCost.join('; ')}.`);
    const tracingCost = [cost('hit-traced', 'hit', 'tracing'), cost('widget-traced', 'widget', 'tracing'), cost('miss-traced', 'miss', 'tracing')].filter((x) => x !== undefined);
    if (tracingCost.length > 0) lines.push('', `Tracing cost, twin against the main process (off vs on with 10% sampling, same run): ${tracingCost.join('; ')}.`);
    const switchedTracing = [switchedCost('hit-traced', 'hit-untraced'), switchedCost('widget-traced', 'widget-untraced'), switchedCost('miss-traced', 'miss-untraced')].filter((x) => x !== undefined);
    if (switchedTracing.length > 0) lines.push('', `Tracing cost (10% sampling on vs off in the traced twin, switched between consecutive runs): ${switchedTracing.join('; ')}.`);
    if (tracingCost.length > 0 || switchedTracing.length > 0) {
      // Spans the sink took, and any the traced twin dropped (a full queue means the sink did not keep up).
      const text = await fetch(`${String(traced.ready.base)}/metrics`).then((r) => r.text(), (err: Error) => `# /metrics of the traced twin failed: ${err.message}`);
      const series = (name: string) => [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => `${m[1] ?? ''} ${m[2]}`).join(', ') || '0';
      lines.push(`Traced twin: spans exported ${series('gatehouse_trace_spans_exported_total')}; dropped ${series('gatehouse_trace_spans_dropped_total')}.`);
    }
    lines.push('');
    if (single.miss !== undefined) lines.push(`Unloaded (1 connection): U ${mean(single.U!).toFixed(3)} ms, miss ${mean(single.miss).toFixed(3)} ms mean latency → miss overhead ${(mean(single.miss) - mean(single.U!)).toFixed(3)} ms.`);
    if (single['miss-base'] !== undefined) lines.push(`Unloaded, the BENCH_BASE_BUILD twin: miss-base ${mean(single['miss-base']).toFixed(3)} ms → overhead ${(mean(single['miss-base']) - mean(single.U!)).toFixed(3)} ms.`);
    lines.push(`Gatehouse RSS after the run: ${rssMb(g).toFixed(0)} MB. loadavg before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (2 cores).`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    redis.disconnect();
    await redisServer.stop();
  }
}

const roles: Record<string, () => Promise<void>> = { origin: originRole, bare: bareRole, gatehouse: gatehouseRole, 'otlp-sink': otlpSinkRole };
(roles[role ?? ''] ?? driver)().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
