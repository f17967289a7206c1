import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { startSentinelSet, type TestSentinelSet } from '../support/redis-sentinel.js';
import { waitFor } from '../support/redis-processes.js';
import { routeOkAndBoom, startUpstream, type TestUpstream } from '../support/upstream.js';
import { connector, registry, startHarness, type Harness } from '../sync/harness.js';

/**
 * Redis Sentinel for real: one master, one replica and three sentinels on 127.0.0.1 (Debian's
 * redis-sentinel), Gatehouse on `redis+sentinel://`. The master is killed while executions run:
 * every answer is a 200 or a 503 SERVICE_UNAVAILABLE with Retry-After, answers are 200 again once
 * the sentinels have promoted the replica, and a push queued before the fail-over is applied after it.
 */

const REPO = 'octo/sentinel-connectors';
const FILE = 'connectors_registry.json';

interface Answer {
  /** execute, or an admin read (which always reads Redis; executions may be served from memory). */
  kind: 'execute' | 'admin';
  status: number;
  cache: string | null;
  retryAfter: string | null;
  code: string | undefined;
  at: number;
}

describe('Redis Sentinel fail-over', () => {
  let set: TestSentinelSet;
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    set = await startSentinelSet();
    up = await startUpstream();
    routeOkAndBoom(up);
    h = await startHarness({ env: { REDIS_URL: set.url } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await up?.close();
    await set?.stop();
  });

  it('kills the master during traffic: 503 with Retry-After at worst, then recovery; a push queued before is applied after', async () => {
    await h.createTenant('acme');
    expect((await h.admin('POST', '/tenants/acme/connectors', { name: 'Ok', url: `${up.url}/ok` })).status).toBe(201);
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
    const linked = await h.link('acme', REPO);
    expect((await h.waitForSync(linked.body.sync_id, 60_000)).state).toBe('succeeded');

    // The push is queued but not run yet: the sync queue is paused (state kept in Redis).
    const queue = h.svc.services.sync.queues.sync;
    await queue.pause();
    const pushed = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect(pushed.delivery.status).toBe(202);
    await waitFor('the push job to wait in the paused queue', async () => {
      const c = await queue.getJobCounts('paused', 'waiting');
      return (c.paused ?? 0) + (c.waiting ?? 0) === 1;
    });
    // Replication is asynchronous: make sure the replica has the job before the crash (what a
    // master acknowledged just before dying can be lost; GitHub's redelivery and reconciliation cover that).
    expect(await set.master.call('WAIT', '1', '10000')).toBe(1);

    // The response is cached in Redis (replicated) before the crash.
    const warm = await fetch(`${h.svc.url}/t/acme/connectors/ok/execute`);
    expect([warm.status, warm.headers.get('x-cache')]).toEqual([200, 'MISS']);
    await warm.arrayBuffer();
    expect(await set.master.call('WAIT', '1', '10000')).toBe(1);

    // Executions and admin reads run one after another for the whole fail-over.
    const answers: Answer[] = [];
    let running = true;
    const traffic = (async () => {
      const call = async (kind: Answer['kind'], url: string, headers: Record<string, string> = {}) => {
        try {
          const res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
          const text = await res.text();
          let code: string | undefined;
          if (res.status !== 200) code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          answers.push({ kind, status: res.status, cache: res.headers.get('x-cache'), retryAfter: res.headers.get('retry-after'), code, at: Date.now() });
        } catch (err) {
          answers.push({ kind, status: 0, cache: null, retryAfter: null, code: (err as Error).message, at: Date.now() });
        }
      };
      while (running) {
        await call('execute', `${h.svc.url}/t/acme/connectors/ok/execute`);
        await call('admin', `${h.svc.url}/admin/v1/tenants/acme/secrets`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitFor('traffic before the crash', () => answers.filter((a) => a.status === 200).length >= 6);
    expect(answers.filter((a) => a.kind === 'execute').every((a) => a.cache === 'HIT')).toBe(true);

    const killedAt = Date.now();
    await set.killMaster();
    await waitFor('the sentinels to promote the replica', async () => (await set.masterAddress()) === set.replicaPort, 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${set.output()}`);
    });
    // Recovered: ten answers in a row are 200 after the promotion, executions served from the
    // response cache in Redis (the entry written before the crash, read from the promoted replica).
    const promotedAt = Date.now();
    await waitFor('executions and admin reads to answer 200 again', () => {
      const after = answers.filter((a) => a.at > promotedAt);
      return after.length >= 10 && after.slice(-10).every((a) => a.status === 200 && (a.kind === 'admin' || a.cache === 'HIT'));
    }, 90_000);
    running = false;
    await traffic;

    const unexpected = answers.filter((a) => a.status !== 200 && !(a.status === 503 && a.code === 'SERVICE_UNAVAILABLE' && a.retryAfter !== null && Number(a.retryAfter) > 0));
    expect(unexpected).toEqual([]);
    const count = (kind: Answer['kind'], status: number) => answers.filter((a) => a.kind === kind && a.status === status).length;
    const lastFailure = answers.filter((a) => a.status !== 200).at(-1);
    process.stdout.write(
      `sentinel fail-over: execute ${count('execute', 200)}×200 ${count('execute', 503)}×503, admin ${count('admin', 200)}×200 ${count('admin', 503)}×503; ` +
        `promotion seen ${promotedAt - killedAt} ms after the kill, last 503 ${lastFailure === undefined ? 'none' : `${lastFailure.at - killedAt} ms`} after it\n`,
    );

    // The queued push is applied after the fail-over, once the queue runs again.
    await waitFor('the queue to take commands on the new master', async () => {
      await queue.resume();
      return true;
    }, 60_000);
    const after = await h.settle('acme', REPO, 60_000);
    expect(after.state).toBe('succeeded');
    expect(after.sha).toBe(pushed.sha);
    const list = await h.admin<{ items: { permalink: string }[] }>('GET', '/tenants/acme/connectors');
    expect(list.body.items.map((c) => c.permalink).sort()).toEqual(['ok', 'stock-quotes', 'weather-api']);
    // Writes work on the new master.
    expect((await h.admin('PUT', '/tenants/after-failover', { name: 'After' })).status).toBe(201);
  }, 300_000);
});
