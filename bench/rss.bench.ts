/**
 * Memory of one Gatehouse process after activating 10,000 connectors over 100 tenants.
 *
 *   npm run bench:rss [-- --tenants 100 --per-tenant 100 --fixtures varied|uniform --settle 30]
 *
 * The driver writes the tenants and their connectors (linked as from Git: one registry replacement
 * per tenant) into a private redis-server, starts the api process, calls every connector once
 * (load, compile, render, upstream call, cache store: everything a connector holds once it has been
 * used), and reads the process's resident set (VmRSS from /proc/<pid>/status) before and after.
 * Both points are also read after a full garbage collection (asked of the api process over IPC),
 * with V8's heap used and committed and the memory outside the heap (`external`: Buffers and other
 * native allocations V8 is told about): RSS minus the heap is what malloc and the code hold.
 *
 * Fixtures: `varied` (the default) gives every connector its own URL, header value, query default
 * and response template, as real registries have — so a saving measured here does not rest on
 * 10,000 copies of one template being shared; `uniform` is the earlier fixture (only the URL differs
 * between connectors, every other template is the same text).
 *
 * `BENCH_HEAP=<dir>` also writes a V8 heap snapshot of the api process into <dir> after the calls
 * (node --heapsnapshot-signal), for finding what the memory is held by.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { benchEntry } from './compiled.js';

const here = fileURLToPath(import.meta.url);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}

async function serverRole(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-rss-bench-'));
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/services.js');
  const { buildApp } = await import('../src/app.js');
  const { pino } = await import('pino');
  const redisUrl = process.env.BENCH_REDIS_URL!;
  const config = loadConfig({ NODE_ENV: 'bench', GATEHOUSE_HOME: home, REDIS_URL: redisUrl, GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN, GATEHOUSE_MASTER_KEY: process.env.BENCH_MASTER_KEY!, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8', LOG_LEVEL: 'info' });
  const log = createLogger(config.logLevel, pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream);
  const services = await createServices({ config, log, stateUrl: redisUrl, cacheUrl: redisUrl });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  // The driver asks for the memory after a full collection (the process runs with --expose-gc).
  process.on('message', (msg) => {
    if (msg !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    gc();
    const m = process.memoryUsage();
    const spaces = getHeapSpaceStatistics().map((x) => ({ name: x.space_name, committed: x.space_size, used: x.space_used_size }));
    process.send!({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, spaces });
  });
  process.stdout.write(`READY ${JSON.stringify({ base })}\n`);
}

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** V8's heap spaces: committed and used bytes of each. */
  spaces: { name: string; committed: number; used: number }[];
}

function memoryAfterGc(child: ChildProcess): Promise<Memory> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as Memory));
    child.send('memory');
  });
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;

/**
 * Where the resident set is, from /proc/<pid>/smaps: the node binary and other files, glibc's main
 * heap ([heap]), and anonymous mappings — V8's heap pages and malloc's thread arenas, told apart
 * only by V8's own committed figure beside them.
 */
function residentByMapping(pid: number): string {
  const sums = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const path = head[1]!;
      name = path === '' ? 'anonymous' : path.startsWith('[') ? path : path.endsWith('/node') ? 'node binary' : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) sums.set(name, (sums.get(name) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).filter(([, v]) => v >= 1048576).map(([k, v]) => `${k} ${mb(v)}`).join(', ');
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

async function driver(): Promise<void> {
  const tenants = arg('tenants', 100);
  const perTenant = arg('per-tenant', 100);
  const fixturesAt = process.argv.indexOf('--fixtures');
  const fixtures = fixturesAt === -1 ? 'varied' : process.argv[fixturesAt + 1];
  if (fixtures !== 'varied' && fixtures !== 'uniform') throw new Error('--fixtures is varied or uniform');
  const varied = fixtures === 'varied';
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rss-bench-'));
  const { startRedisServer } = await import('../src/redis/embedded.js');
  const redis = await startRedisServer({ dataDir: join(dir, 'redis'), persistent: false });
  const origin = createServer((req, res) => {
    const body = JSON.stringify({ path: req.url, items: [1, 2, 3], pad: 'x'.repeat(700) });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
    res.end(body);
  });
  origin.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  // The registry and tenants written directly through the stores (as a sync and the admin API do).
  const { loadConfig } = await import('../src/config.js');
  const { createLogger } = await import('../src/logger.js');
  const { createServices } = await import('../src/services.js');
  const masterKey = randomBytes(32).toString('base64');
  const config = loadConfig({ NODE_ENV: 'bench', GATEHOUSE_HOME: dir, REDIS_URL: redis.url, GATEHOUSE_ADMIN_TOKEN: ADMIN_TOKEN, GATEHOUSE_MASTER_KEY: masterKey, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8', LOG_LEVEL: 'warn' });
  const services = await createServices({ config, log: createLogger('warn'), stateUrl: redis.url, cacheUrl: redis.url });
  const t0 = Date.now();
  for (let t = 0; t < tenants; t++) {
    const tenant = `tenant-${t}`;
    await services.tenants.put(tenant, { name: `Tenant ${t}`, allowed_origins: [] });
    await services.secrets.put(tenant, 'secret', 'api_key', `key-${t}-0123456789`);
    const connectors = Array.from({ length: perTenant }, (_, i) => ({
      name: `Connector ${i}`,
      permalink: `connector-${i}`,
      url: `${originUrl}/t${t}/c${i}/{{ tenant_id }}`,
      method: 'GET' as const,
      headers: [
        { key: 'Accept', value: 'application/json', overridable: false },
        ...(varied ? [{ key: `X-Client-${i % 5}`, value: `gatehouse-${t}-${i} {{ tenant_id }}`, overridable: i % 2 === 0 }] : []),
      ],
      query_parameters: [
        { key: 'limit', value: varied ? String(10 + i) : '10', overridable: true },
        { key: 'tenant', value: varied ? `{{ tenant_id }}-${i % 7}` : '{{ tenant_id }}', overridable: false },
      ],
      path_parameters: [],
      authentication: { type: 'api_key' as const, config: { key: varied ? `X-Api-Key-${i % 3}` : 'X-Api-Key', value: "{{ get_secret('api_key') }}", in: 'header' as const } },
      request_body: '',
      response_body: varied
        ? `{% set d = response.body | from_json %}{{ {"n${i}": d["items"] | length, "path": d.path, "t": "${t}"} | tojson }}`
        : '{% set d = response.body | from_json %}{{ {"n": d["items"] | length, "path": d.path} | tojson }}',
      response_content_type: 'application/json',
    }));
    await services.registry.replaceLink(tenant, `bench/t${t}`, { connectors, composites: [], commitSha: 'c'.repeat(40) });
  }
  process.stderr.write(`wrote ${tenants} tenants × ${perTenant} connectors in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await services.close();

  const heapDir = process.env.BENCH_HEAP;
  if (heapDir !== undefined) mkdirSync(heapDir, { recursive: true });
  const nodeArgs = ['--expose-gc', ...(heapDir === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`])];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...benchEntry(here), 'server'], { env: { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_MASTER_KEY: masterKey }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (.*)\n/.exec(out);
        if (m !== null) resolve((JSON.parse(m[1]!) as { base: string }).base);
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const pid = child.pid!;
    const idle = rssMb(pid);
    const idleGc = await memoryAfterGc(child);
    const jobs: [number, number][] = [];
    for (let t = 0; t < tenants; t++) for (let i = 0; i < perTenant; i++) jobs.push([t, i]);
    let next = 0;
    let failed = 0;
    const t1 = Date.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < jobs.length) {
          const [t, i] = jobs[next++]!;
          const r = await fetch(`${base}/t/tenant-${t}/connectors/connector-${i}/execute`);
          if (r.status !== 200) {
            if (failed++ === 0) process.stderr.write(`first failure: ${r.status} ${await r.text()}\n`);
          } else await r.arrayBuffer();
        }
      }),
    );
    const active = rssMb(pid);
    // --settle <s>: RSS after that long without requests too (V8's memory reducer shrinks the heap of an idle process).
    const settleS = arg('settle', 0);
    if (settleS > 0) await new Promise((r) => setTimeout(r, settleS * 1000));
    const settled = settleS > 0 ? rssMb(pid) : undefined;
    const activeGc = await memoryAfterGc(child);
    process.stdout.write(
      `fixtures: ${fixtures}\n` +
        `| connectors | tenants | RSS idle | RSS after one call of each | calls failed | loadavg |\n|---|---|---|---|---|---|\n` +
        `| ${tenants * perTenant} | ${tenants} | ${idle.toFixed(0)} MB | ${active.toFixed(0)} MB | ${failed} | ${loadavg().map((l) => l.toFixed(1)).join(' ')} |\n\n` +
        `| after a full GC | RSS | heap used | heap committed | external (of which ArrayBuffers) |\n|---|---|---|---|---|\n` +
        ([['idle', idleGc], ['after the calls', activeGc]] as const)
          .map(([name, m]) => `| ${name} | ${mb(m.rss)} | ${mb(m.heapUsed)} | ${mb(m.heapTotal)} | ${mb(m.external)} (${mb(m.arrayBuffers)}) |\n`)
          .join(''),
    );
    const spaces = (m: Memory): string => m.spaces.filter((x) => x.committed >= 1048576).map((x) => `${x.name} ${mb(x.committed).slice(0, -3)}/${mb(x.used).slice(0, -3)}`).join(', ');
    if (settled !== undefined) process.stdout.write(`RSS after ${settleS} s without requests: ${settled.toFixed(0)} MB\n`);
    process.stderr.write(`heap spaces idle (committed/used MB): ${spaces(idleGc)}\n`);
    process.stderr.write(`heap spaces after the calls (committed/used MB): ${spaces(activeGc)}\n`);
    process.stderr.write(`resident after the calls and GC: ${residentByMapping(pid)}\n`);
    process.stderr.write(`called ${jobs.length} connectors in ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
    if (heapDir !== undefined) process.stderr.write(`heap snapshot: ${await heapSnapshot(child, heapDir)}\n`);
  } finally {
    child.kill('SIGTERM');
    origin.close();
    await redis.stop();
  }
}

/** Asks the process for a heap snapshot and waits until the file is complete (its size stops changing). */
async function heapSnapshot(child: ChildProcess, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) return join(dir, file);
    last = size;
  }
}

(process.argv[2] === 'server' ? serverRole : driver)().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
