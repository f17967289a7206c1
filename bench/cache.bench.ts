/**
 * Cache-hit throughput and latency beside a bare fastify route returning the same 1 KiB of JSON.
 *
 *   npx tsx bench/cache.bench.ts [--duration 10] [--connections 50] [--rounds 3] [--log-level info] [--source]
 *
 * bench/cache-server.ts runs in a child process (its own event loop and CPU) with every server
 * target in it; autocannon drives it from this process; on a 2-core machine both share the two
 * cores (unpinned) with the private redis-server. The server runs the project compiled by tsc, as in
 * production (bench/compiled.ts; --source runs it through tsx), with Gatehouse at LOG_LEVEL=info.
 * Every target is warmed up (which also fills the cache) and again for 2 s before each measured run;
 * targets alternate within each of `--rounds` rounds. Every run is printed (with the 1-minute load
 * average); the summary gives, per target, the median over rounds of req/s, p50, p99 and server CPU
 * per request, and the median of the per-round rps ratios against bare (each round's bare and execute
 * runs are seconds apart, so the ratio pairs them). Goal: cache-hit rps ≥ 60% of bare,
 * p99 ≤ 10 ms at 50 connections.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { benchEntry } from './compiled.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : def;
}

const duration = arg('duration', 10);
const connections = arg('connections', 50);
const rounds = arg('rounds', 3);
const logLevel = (() => {
  const i = process.argv.indexOf('--log-level');
  return i === -1 ? 'info' : String(process.argv[i + 1]);
})();

interface Measured {
  name: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  xCache: string | null;
  bytes: number;
  /** Server CPU (user + system) per request, µs; undefined for targets served by another process (nginx). */
  cpuUs: number | undefined;
  load: number;
}

async function run(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, pipelining: 1 });
}

async function probe(url: string): Promise<{ xCache: string | null; bytes: number; status: number }> {
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  return { xCache: res.headers.get('x-cache'), bytes: body.length, status: res.status };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, [...benchEntry(fileURLToPath(new URL('./cache-server.ts', import.meta.url)))], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', BENCH_LOG_LEVEL: logLevel },
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: server.stdout! });
      rl.once('line', resolve);
      server.once('exit', (code) => reject(new Error(`bench server exited (${code}) before it was ready`)));
    });
    const urls = JSON.parse(line) as Record<string, string>;
    const cpu = () =>
      new Promise<number>((resolve) => {
        server.once('message', (u: NodeJS.CpuUsage) => resolve(u.user + u.system));
        server.send('cpu');
      });
    if (urls.execute === undefined) console.log('note: the execute route is not registered yet: measuring the cache module only');

    console.log(`cache-hit benchmark: node ${process.version}, ${connections} connections, ${duration} s per run, ${rounds} rounds, Gatehouse LOG_LEVEL=${logLevel}; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (const [name, url] of Object.entries(urls)) {
      const first = await probe(url);
      if (first.status !== 200) throw new Error(`${name}: ${url} answered ${first.status}`);
      await run(url, 2); // warm-up: JIT, connection pools, the cache entry
    }
    const all: Measured[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const [name, url] of Object.entries(urls)) {
        await run(url, 2); // warm-up right before the measured run
        const p = await probe(url);
        const c0 = await cpu();
        const r = await run(url, duration);
        const cpuUs = name === 'nginx' ? undefined : ((await cpu()) - c0) / Math.max(1, r.requests.total);
        const m: Measured = { name, round, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, xCache: p.xCache, bytes: p.bytes, cpuUs, load: loadavg()[0]! };
        all.push(m);
        console.log(
          `round ${round} ${name.padEnd(17)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(1).padStart(5)} ms  p99 ${m.p99.toFixed(1).padStart(5)} ms  ${cpuUs === undefined ? '      -' : cpuUs.toFixed(1).padStart(6)} µs CPU/req  x-cache ${m.xCache ?? '-'}  load ${m.load.toFixed(2)}  errors ${m.errors + m.non2xx}`,
        );
      }
    }

    const names = Object.keys(urls);
    const of = (name: string) => all.filter((m) => m.name === name);
    const ratioOf = (name: string) => median(Array.from({ length: rounds }, (_, i) => of(name)[i]!.rps / of('bare')[i]!.rps));
    const bareCpu = median(of('bare').map((m) => m.cpuUs!));
    console.log(`\nsummary: medians over ${rounds} rounds (rps ratio: median of the per-round ratios)\n`);
    console.log('target            x-cache  bytes      req/s    p50 ms   p99 ms   errors  rps vs bare  p99 ≤ 10 ms   CPU µs/req  CPU-bound rps vs bare');
    for (const name of names) {
      const ms = of(name);
      const cpuUs = ms[0]!.cpuUs === undefined ? undefined : median(ms.map((m) => m.cpuUs!));
      const p99 = median(ms.map((m) => m.p99));
      console.log(
        `${name.padEnd(17)} ${String(ms[0]!.xCache ?? '-').padEnd(8)} ${String(ms[0]!.bytes).padStart(5)} ${median(ms.map((m) => m.rps)).toFixed(0).padStart(10)} ${median(ms.map((m) => m.p50)).toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} ${String(ms.reduce((a, m) => a + m.errors + m.non2xx, 0)).padStart(8)}  ${(ratioOf(name) * 100).toFixed(1).padStart(9)}%  ${(p99 <= 10 ? 'yes' : 'NO').padEnd(11)}  ${cpuUs === undefined ? '          -' : cpuUs.toFixed(1).padStart(11)}  ${cpuUs === undefined ? '-' : `${((bareCpu / cpuUs) * 100).toFixed(1)}%`}`,
      );
    }
    console.log('(CPU-bound rps vs bare = bare CPU per request / target CPU per request: the rps ratio a machine with spare cores for the load generator would show)');
    const target = urls.execute !== undefined ? 'execute' : 'module';
    const ratio = ratioOf(target);
    const p99 = median(of(target).map((m) => m.p99));
    console.log(`\n${target} cache hit: ${(ratio * 100).toFixed(1)}% of bare rps (goal ≥ 60%: ${ratio >= 0.6 ? 'met' : 'NOT met'}), p99 ${p99.toFixed(1)} ms (goal ≤ 10 ms: ${p99 <= 10 ? 'met' : 'NOT met'}); load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    server.kill('SIGTERM');
    await exited;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
