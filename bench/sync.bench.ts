/**
 * Sync benchmark (docs/sync.md#benchmark).
 *
 *   npx tsx bench/sync.bench.ts [--connectors 1000] [--rounds 5] [--duration 10] [--connections 50]
 *
 * 1. Push → live: a signed push webhook for a commit whose connectors_registry.json holds
 *    `--connectors` connectors (headers, query and path parameters, api_key auth from a secret,
 *    request and response templates), until the registry store serves the new set (what the
 *    runtime reads). Measured in one process: GitHub double, API and sync worker share an event
 *    loop, so this is an upper bound of a deployment with separate processes. Scenarios: create
 *    (empty → N), update (N changed), unchanged (a commit not touching the file).
 * 2. Webhook intake: deliveries per second answered by `POST /webhooks/github` on a Gatehouse
 *    process (role all: API + workers) loaded by autocannon from this process, every delivery
 *    with its own X-GitHub-Delivery and a valid signature. Scenarios: one hot repository (pushes
 *    collapse into the queued sync) and 200 linked repositories round-robin (new sync records).
 *
 * Goals: N = 1000 live within 2 s of the push; intake ≥ 1000 deliveries/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startRedisServer, type EmbeddedRedis } from '../src/redis/embedded.js';
import { validateRegistryText } from '../src/registry/validate.js';
import { createServices, type Services } from '../src/services.js';
import { GitHubDouble } from '../test/support/github-double.js';
import { deliver, pushPayload } from '../test/support/github-double-webhooks.js';
import { startSyncWorkers } from '../workers/sync-worker.js';

const here = fileURLToPath(import.meta.url);
const SECRET = 'bench-webhook-secret-0123456789';
const TOKEN = 'ghp_bench000000000000000000000000000000';
const ADMIN = 'bench-admin-token-0123456789abcdef';
const FILE = 'connectors_registry.json';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}

/** A connector like the ones teams write: every templated field used at least once. */
function benchConnector(i: number, variant: string): Record<string, unknown> {
  return {
    name: `Bench Connector ${String(i).padStart(4, '0')}`,
    url: `https://api${i % 7}.example.com/v${variant}/items/{{ pathParams.item_id }}`,
    method: i % 5 === 0 ? 'POST' : 'GET',
    headers: [
      { key: 'Accept', value: 'application/json', overridable: false },
      { key: 'X-Tenant', value: '{{ tenant_id }}', overridable: false },
      { key: 'X-Trace', value: `bench-${variant}-${i}`, overridable: true },
    ],
    query_parameters: [
      { key: 'limit', value: '20', overridable: true },
      { key: 'lang', value: "{{ user.profile_fields.by_id(12) | default('en') }}", overridable: true },
    ],
    path_parameters: [{ key: 'item_id' }],
    authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: `{{ get_secret('key_${i % 10}') }}`, in: 'header' } },
    request_body: i % 5 === 0 ? '{"query": {{ body_text | tojson }}, "user": "{{ user.id }}"}' : '',
    response_body: `{% set d = response.body | from_json %}{"items": [{% for it in d["items"] if it.score > ${i % 3} %}{"id": "{{ it.id }}", "v": "${variant}"}{% if not loop.last %},{% endif %}{% endfor %}]}`,
    response_content_type: 'application/json',
  };
}

function registryText(n: number, variant: string): string {
  return `${JSON.stringify({ connectors: Array.from({ length: n }, (_, i) => benchConnector(i, variant)) }, null, 2)}\n`;
}

function env(redisUrl: string, githubUrl: string, home: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    GATEHOUSE_HOME: home,
    REDIS_URL: redisUrl,
    GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    GATEHOUSE_ADMIN_TOKEN: ADMIN,
    GITHUB_API_URL: githubUrl,
    GITHUB_TOKEN: TOKEN,
    GITHUB_WEBHOOK_SECRET: SECRET,
    RECONCILE_INTERVAL_S: '0',
    LOG_LEVEL: 'warn',
    PORT: '0',
  };
}

async function startGatehouse(e: Record<string, string>): Promise<{ services: Services; url: string; close(): Promise<void> }> {
  const config = loadConfig(e);
  const log = createLogger(config.logLevel);
  const services = await createServices({ config, log, stateUrl: config.redisUrl!, cacheUrl: config.redisUrl! });
  await startSyncWorkers(services, { reconcile: false });
  const app = await buildApp(services, { roles: { api: true, worker: true } });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { services, url, close: async () => { await app.close(); await services.close(); } };
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ------------------------------------------------------------------------------ push → live

async function pushToLive(n: number, rounds: number): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-sync-bench-'));
  const redis = await startRedisServer({ dataDir: join(home, 'redis'), persistent: false });
  const double = await GitHubDouble.start({ tokens: [TOKEN] });
  const gh = await startGatehouse(env(redis.url, double.url, home));
  try {
    await admin(gh.url, 'PUT', '/tenants/bench', { name: 'Bench' });
    const repo = double.createRepo('bench/registry');
    repo.commit('main', { [FILE]: registry0(), 'README.md': 'bench\n' });
    const linked = (await admin(gh.url, 'PUT', '/tenants/bench/repositories/bench/registry', { branch: 'main' })) as { sync_id: string };
    await waitFor(async () => ['succeeded'].includes((await gh.services.sync.history.get(linked.sync_id))?.state ?? ''), 30_000);

    const probe = 'bench-connector-0000';
    const measure = async (files: Record<string, string | null>, expectLive: (sha: string) => Promise<boolean>) => {
      const before = repo.head('main');
      const sha = repo.commit('main', files);
      const payload = pushPayload(double, repo, { branch: 'main', before, after: sha });
      const t0 = performance.now();
      const res = await deliver(`${gh.url}/webhooks/github`, { event: 'push', payload, secret: SECRET });
      if (res.status !== 202) throw new Error(`push answered ${res.status}`);
      const ack = performance.now() - t0;
      await waitFor(() => expectLive(sha), 60_000, 2);
      const live = performance.now() - t0;
      const record = (await gh.services.sync.lastSync('bench', 'bench/registry'))!;
      return { ack_ms: round(ack), live_ms: round(live), sync_ms: record.duration_ms, state: record.state, plan: { created: record.plan.created.length, updated: record.plan.updated.length, deleted: record.plan.deleted.length } };
    };
    const servedFrom = (sha: string) => async () => (await gh.services.registry.get('bench', probe))?.commit_sha === sha;
    const gone = async () => (await gh.services.registry.get('bench', probe)) === undefined;
    const settled = async (sha: string) => (await gh.services.sync.lastSync('bench', 'bench/registry'))?.sha === sha && !['queued', 'running'].includes((await gh.services.sync.lastSync('bench', 'bench/registry'))!.state);

    const results: Record<string, ReturnType<typeof measure> extends Promise<infer T> ? T[] : never> = { create: [], update: [], unchanged: [] };
    for (let r = 0; r < rounds; r++) {
      results.create!.push(await measure({ [FILE]: registryText(n, `a${r}`) }, (sha) => servedFrom(sha)()));
      results.update!.push(await measure({ [FILE]: registryText(n, `b${r}`) }, (sha) => servedFrom(sha)()));
      results.unchanged!.push(await measure({ 'README.md': `bench ${r}\n` }, settled));
      // Back to empty for the next create round.
      await measure({ [FILE]: registry0() }, gone);
    }
    const total = (await gh.services.registry.list('bench')).length;
    const text = registryText(n, 'x');
    const v0 = performance.now();
    const v = validateRegistryText(text, { allowHttp: false, allowCidrs: [] });
    const validateMs = performance.now() - v0;
    if (!v.ok) throw new Error(`bench registry invalid: ${JSON.stringify(v.errors.slice(0, 3))}`);
    return {
      connectors: n,
      file_bytes: Buffer.byteLength(text),
      validate_only_ms: round(validateMs),
      final_live_count: total,
      create: summary(results.create!),
      update: summary(results.update!),
      unchanged: summary(results.unchanged!),
    };
  } finally {
    await gh.close();
    await double.close();
    await redis.stop();
  }
}

function registry0(): string {
  return '{"connectors": []}\n';
}

function summary(rows: { ack_ms: number; live_ms: number; sync_ms: number | null; state: string }[]) {
  return {
    states: [...new Set(rows.map((r) => r.state))],
    live_ms_median: median(rows.map((r) => r.live_ms)),
    live_ms_max: Math.max(...rows.map((r) => r.live_ms)),
    sync_ms_median: median(rows.map((r) => r.sync_ms ?? 0)),
    ack_ms_median: median(rows.map((r) => r.ack_ms)),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ------------------------------------------------------------------------------ intake

/** The Gatehouse process loaded by autocannon (its own event loop and CPU). */
async function serverRole(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-sync-bench-'));
  const redis: EmbeddedRedis = await startRedisServer({ dataDir: join(home, 'redis'), persistent: false });
  const double = await GitHubDouble.start({ tokens: [TOKEN] });
  const gh = await startGatehouse(env(redis.url, double.url, home));
  await admin(gh.url, 'PUT', '/tenants/bench', { name: 'Bench' });
  const bodies: { hot: string; spread: string[] } = { hot: '', spread: [] };
  const names = ['bench/hot', ...Array.from({ length: 200 }, (_, i) => `bench/r${i}`)];
  for (const name of names) {
    const repo = double.createRepo(name);
    const c1 = repo.commit('main', { [FILE]: registryText(3, 'x') });
    await admin(gh.url, 'PUT', `/tenants/bench/repositories/${name}`, { branch: 'main' });
    const c2 = repo.commit('main', { [FILE]: registryText(3, 'y') });
    const body = JSON.stringify(pushPayload(double, repo, { branch: 'main', before: c1, after: c2 }));
    if (name === 'bench/hot') bodies.hot = body;
    else bodies.spread.push(body);
  }
  // Let the 201 first syncs finish: the measurement is the intake, not a backlog of link syncs.
  await waitFor(async () => {
    const counts = await gh.services.sync.queueCounts();
    return counts.every((q) => (q.counts.waiting ?? 0) + (q.counts.active ?? 0) + (q.counts.delayed ?? 0) === 0);
  }, 120_000, 100);
  const file = join(home, 'bodies.json');
  writeFileSync(file, JSON.stringify(bodies));
  process.stdout.write(`READY ${gh.url} ${file}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      const counts = await gh.services.sync.queueCounts();
      const records = await gh.services.sync.history.query({ tenant: 'bench', limit: 500 });
      process.stdout.write(`STATS ${JSON.stringify({ queues: counts.map((q) => ({ name: q.name, counts: q.counts })), records_sample: records.length })}\n`);
      await gh.close();
      await double.close();
      await redis.stop();
      process.exit(0);
    })();
  });
}

async function intake(duration: number, connections: number): Promise<Record<string, unknown>> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', here, 'server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(async () => out.includes('READY '), 120_000, 50);
  const [, url, file] = /READY (\S+) (\S+)/.exec(out)!;
  const bodies = JSON.parse(readFileSync(file!, 'utf8')) as { hot: string; spread: string[] };
  const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const hot = { body: bodies.hot, signature: sign(bodies.hot) };
  const spread = bodies.spread.map((b) => ({ body: b, signature: sign(b) }));

  const run = (pick: () => { body: string; signature: string }) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      autocannon(
        {
          url: `${url}/webhooks/github`,
          connections,
          duration,
          requests: [
            {
              method: 'POST',
              setupRequest: (req) => {
                const d = pick();
                return {
                  ...req,
                  body: d.body,
                  headers: {
                    'content-type': 'application/json',
                    'user-agent': 'GitHub-Hookshot/bench',
                    'x-github-event': 'push',
                    'x-github-delivery': randomUUID(),
                    'x-hub-signature-256': d.signature,
                  },
                };
              },
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
  const describe = (r: autocannon.Result) => ({
    deliveries_per_s: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non_2xx: r.non2xx,
    errors: r.errors,
    total: r.requests.total,
    payload_bytes: 0,
  });
  // Warm-up (JIT, connection pools), then the measured runs.
  await run(() => hot);
  const hotResult = describe(await run(() => hot));
  hotResult.payload_bytes = Buffer.byteLength(hot.body);
  let i = 0;
  const spreadResult = describe(await run(() => spread[i++ % spread.length]!));
  spreadResult.payload_bytes = Buffer.byteLength(spread[0]!.body);
  child.kill('SIGTERM');
  await waitFor(async () => out.includes('STATS '), 30_000, 50);
  const stats = JSON.parse(/STATS (.*)/.exec(out)![1]!) as unknown;
  return { connections, duration_s: duration, hot_repository: hotResult, spread_200_repositories: spreadResult, server_after: stats };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return serverRole();
  const n = arg('connectors', 1000);
  const rounds = arg('rounds', 5);
  const duration = arg('duration', 10);
  const connections = arg('connections', 50);
  const live = await pushToLive(n, rounds);
  process.stdout.write(`push → live (${n} connectors, ${rounds} rounds): ${JSON.stringify(live, null, 2)}\n`);
  const intakeResult = await intake(duration, connections);
  process.stdout.write(`webhook intake: ${JSON.stringify(intakeResult, null, 2)}\n`);
  const c = live.create as { live_ms_median: number; live_ms_max: number };
  const u = live.update as { live_ms_median: number; live_ms_max: number };
  const hot = intakeResult.hot_repository as { deliveries_per_s: number };
  const spread = intakeResult.spread_200_repositories as { deliveries_per_s: number };
  process.stdout.write(
    `\nSUMMARY ${n} connectors live after push: create median ${(c.live_ms_median / 1000).toFixed(2)} s (max ${(c.live_ms_max / 1000).toFixed(2)} s), ` +
      `update median ${(u.live_ms_median / 1000).toFixed(2)} s (max ${(u.live_ms_max / 1000).toFixed(2)} s) — goal ≤ 2 s: ${Math.max(c.live_ms_max, u.live_ms_max) <= 2000 ? 'met' : 'NOT met'}\n` +
      `SUMMARY webhook intake: ${hot.deliveries_per_s}/s (one repository), ${spread.deliveries_per_s}/s (200 repositories) — goal ≥ 1000/s: ${Math.min(hot.deliveries_per_s, spread.deliveries_per_s) >= 1000 ? 'met' : 'NOT met'}\n`,
  );
}

main().then(
  () => {
    if (process.argv[2] !== 'server') process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
