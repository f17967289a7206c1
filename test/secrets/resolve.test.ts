import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataKeys } from '../../src/secrets/keys.js';
import { SecretStore } from '../../src/secrets/store.js';
import { adminClient } from '../admin/support.js';
import { flushTestRedis, testRedisClient } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';

/** Calls per command from INFO commandstats (the INFO calls themselves are left out of diffs). */
async function commandCounts(): Promise<Record<string, number>> {
  const redis = testRedisClient();
  try {
    const info = await redis.info('commandstats');
    const out: Record<string, number> = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  } finally {
    redis.disconnect();
  }
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (k !== 'info' && v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

describe('SecretStore.resolve on the request path', () => {
  let svc: TestService;
  beforeAll(async () => {
    await flushTestRedis();
    svc = await startTestService();
    const call = adminClient(svc.url);
    await call('PUT', '/tenants/acme', { name: 'Acme' });
    for (let i = 0; i < 5; i++) await call('PUT', `/tenants/acme/secrets/s${i}`, { value: `secret-${i}` });
    for (let i = 0; i < 5; i++) await call('PUT', `/tenants/acme/variables/v${i}`, { value: `variable-${i}` });
  });
  afterAll(async () => svc.close());

  it('costs one Redis command per call once the data key is cached, and is fast', async () => {
    const names = { secrets: ['s0', 's1', 's2', 's3', 's4'], variables: ['v0', 'v1', 'v2', 'v3', 'v4'] };
    // A store as a new process has it: no data key cached yet.
    const fresh = new SecretStore(svc.services.redis, new DataKeys(svc.services.redis, svc.services.dataKeys.master));
    // First call of a process: values and the wrapped data key in one MULTI (one round trip).
    let before = await commandCounts();
    const first = await fresh.resolve('acme', names.secrets, names.variables);
    expect(first.secrets.get('s3')).toBe('secret-3');
    expect(first.variables.get('v4')).toBe('variable-4');
    expect(diff(await commandCounts(), before)).toEqual({ multi: 1, hmget: 1, hget: 1, exec: 1 });

    const N = 2000;
    before = await commandCounts();
    const timings: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      const r = await fresh.resolve('acme', names.secrets, names.variables);
      timings.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.secrets.size !== 5 || r.variables.size !== 5) throw new Error('incomplete resolution');
    }
    expect(diff(await commandCounts(), before)).toEqual({ hmget: N });
    timings.sort((a, b) => a - b);
    const p50 = timings[Math.floor(N * 0.5)]!;
    const p99 = timings[Math.floor(N * 0.99)]!;
    console.info(`resolve(5 secrets + 5 variables): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms over ${N} sequential calls`);
    expect(p50).toBeLessThan(5);
    // No names, no Redis at all.
    before = await commandCounts();
    await fresh.resolve('acme', [], []);
    expect(diff(await commandCounts(), before)).toEqual({});
  });
});
