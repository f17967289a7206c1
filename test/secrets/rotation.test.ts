import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { masterKey } from '../../src/secrets/crypto.js';
import { adminClient, HS256_SECRET } from '../admin/support.js';
import { flushTestRedis, testRedisClient, testRedisUrl } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, testConfig, type TestService } from '../support/service.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotate-'));
const newKeyFile = join(dir, 'new.key');
writeFileSync(newKeyFile, `${newKey}\n`, { mode: 0o600 });

/** Runs `gatehouse rotate-master-key …` in-process with the environment an operator would have. */
async function rotate(args: string[], configuredKey = oldKey): Promise<{ code: number; out: string; err: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'production',
    GATEHOUSE_HOME: dir,
    REDIS_URL: testRedisUrl(),
    GATEHOUSE_MASTER_KEY: configuredKey,
    GATEHOUSE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  });
  const stdout = new Sink();
  const stderr = new Sink();
  try {
    const code = await main(['rotate-master-key', ...args], { stdout, stderr });
    return { code, out: stdout.text, err: stderr.text };
  } finally {
    process.env = saved;
  }
}

const start = (key: string) => startTestService({ config: testConfig({ GATEHOUSE_MASTER_KEY: key }) });

describe('master-key rotation without downtime', () => {
  const running: TestService[] = [];
  const boot = async (key: string) => {
    const s = await start(key);
    running.push(s);
    return s;
  };
  beforeAll(async () => flushTestRedis());
  afterAll(async () => {
    for (const s of running) await s.close().catch(() => undefined);
  });

  it('re-wraps every data key, keeps old and new processes working, then drops the old key', async () => {
    const a = await boot(oldKey);
    const callA = adminClient(a.url);
    for (const t of ['t1', 't2', 't3']) {
      expect((await callA('PUT', `/tenants/${t}`, { name: t, session: { alg: 'HS256', secret: `${HS256_SECRET}-${t}` } })).status).toBe(201);
      expect((await callA('PUT', `/tenants/${t}/secrets/token`, { value: `token-of-${t}` })).status).toBe(201);
      expect((await callA('PUT', `/tenants/${t}/secrets/other`, { value: `other-of-${t}` })).status).toBe(201);
    }

    // Step 1, while A runs with the old key.
    const first = await rotate(['--new-key-file', newKeyFile]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('tenant data keys: 3');
    expect(first.out).toContain('wrapped under the new key');
    expect(first.out).toContain('--prune');
    const redis = testRedisClient();
    try {
      expect((await redis.hkeys('gh:{t:t1}:dek')).sort()).toEqual([masterKey(Buffer.from(oldKey, 'base64')).id, masterKey(Buffer.from(newKey, 'base64')).id].sort());
    } finally {
      redis.disconnect();
    }
    // Idempotent.
    expect((await rotate(['--new-key-file', newKeyFile])).out).toContain('already wrapped under it: 3');

    // A keeps working, reads and writes; a tenant created now is wrapped under the old key only.
    expect((await a.services.secrets.resolve('t1', ['token'], [])).secrets.get('token')).toBe('token-of-t1');
    expect((await callA('PUT', '/tenants/t1/secrets/token', { value: 'token-of-t1-v2' })).status).toBe(200);
    expect((await callA('PUT', '/tenants/t4', { name: 't4' })).status).toBe(201);
    expect((await callA('PUT', '/tenants/t4/secrets/token', { value: 'token-of-t4' })).status).toBe(201);

    // Step 2: a process on the new key reads everything that was rotated.
    const b = await boot(newKey);
    for (const t of ['t2', 't3']) {
      expect((await b.services.secrets.resolve(t, ['token', 'other'], [])).secrets).toEqual(new Map([['token', `token-of-${t}`], ['other', `other-of-${t}`]]));
      expect((await b.services.tenants.get(t))?.session).toEqual({ alg: 'HS256', secret: `${HS256_SECRET}-${t}` });
    }
    expect((await b.services.secrets.resolve('t1', ['token'], [])).secrets.get('token')).toBe('token-of-t1-v2');
    // The documented window: t4 was created by an old-key process after step 1.
    await expect(b.services.secrets.resolve('t4', ['token'], [])).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    // Both processes write; each reads the other's writes.
    expect((await adminClient(b.url)('PUT', '/tenants/t2/secrets/token', { value: 'written-by-b' })).status).toBe(200);
    expect((await a.services.secrets.resolve('t2', ['token'], [])).secrets.get('token')).toBe('written-by-b');

    // Step 3: prune (environment still has the old key): wraps t4, drops old wrappings.
    const prune = await rotate(['--new-key-file', newKeyFile, '--prune']);
    expect(prune.code).toBe(0);
    expect(prune.out).toContain('wrapped under the new key');
    expect(prune.out).toContain('wrappings under other keys removed: 4');
    expect(prune.out).toContain('old key is no longer needed');
    expect((await b.services.secrets.resolve('t4', ['token'], [])).secrets.get('token')).toBe('token-of-t4');

    // The old key opens nothing any more; a fresh process on the new key alone reads and writes everything.
    const stale = await boot(oldKey);
    await expect(stale.services.secrets.resolve('t3', ['token'], [])).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    const fresh = await boot(newKey);
    const expected: Record<string, string> = { t1: 'token-of-t1-v2', t2: 'written-by-b', t3: 'token-of-t3', t4: 'token-of-t4' };
    for (const [t, value] of Object.entries(expected)) {
      expect((await fresh.services.secrets.resolve(t, ['token'], [])).secrets.get('token')).toBe(value);
    }
    expect((await adminClient(fresh.url)('GET', '/tenants/t3/secrets')).body.items.map((i: { masked: string }) => i.masked)).toEqual(['o*********', 't*********']);
    expect((await adminClient(fresh.url)('PUT', '/tenants/t5', { name: 't5', session: { alg: 'HS256', secret: HS256_SECRET } })).status).toBe(201);
    expect((await fresh.services.tenants.get('t5'))?.session).toEqual({ alg: 'HS256', secret: HS256_SECRET });
  });

  it('with the new key already configured, --prune only prunes (embedded mode after replacing master.key)', async () => {
    const third = randomBytes(32).toString('base64');
    const thirdFile = join(dir, 'third.key');
    writeFileSync(thirdFile, third);
    expect((await rotate(['--new-key-file', thirdFile], newKey)).code).toBe(0);
    const prune = await rotate(['--new-key-file', thirdFile, '--prune'], third);
    expect(prune.code).toBe(0);
    expect(prune.out).toContain('already wrapped under it: 5');
    const s = await boot(third);
    expect((await s.services.secrets.resolve('t1', ['token'], [])).secrets.get('token')).toBe('token-of-t1-v2');
  });

  it('reports operator mistakes with an exit code', async () => {
    const missing = await rotate([]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--new-key-file FILE is required');
    const badFile = join(dir, 'bad.key');
    writeFileSync(badFile, 'not a key');
    const bad = await rotate(['--new-key-file', badFile]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('base64 of exactly 32 bytes');
    expect((await rotate(['--new-key-file', join(dir, 'absent.key')])).code).toBe(1);
    const same = await rotate(['--new-key-file', newKeyFile], newKey);
    expect(same.code).toBe(1);
    expect(same.err).toContain('already configured');
  });
});
