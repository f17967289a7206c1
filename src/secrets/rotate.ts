import { readFileSync } from 'node:fs';
import type { CommandModule, Io } from '../cli.js';
import { parseArgs } from 'node:util';
import { decodeMasterKey, loadConfig } from '../config.js';
import { closeRedis, connectRedis, type RedisClient } from '../redis/connection.js';
import { resolveRedis } from '../redis/embedded.js';
import { stateKeys } from '../registry/keys.js';
import { masterKey, unwrapDataKey, wrapDataKey, type MasterKey } from './crypto.js';

/**
 * Master-key rotation without downtime. A tenant's data key is stored wrapped once per master key
 * id, so both keys work while processes are being moved to the new one:
 *
 *   1. `gatehouse rotate-master-key --new-key-file new.key`            (environment: the OLD key)
 *      adds a wrapping under the new key to every tenant's data key; running processes go on
 *      reading the old wrapping.
 *   2. restart every process with GATEHOUSE_MASTER_KEY = the new key.
 *   3. `gatehouse rotate-master-key --new-key-file new.key --prune`    (environment: still the OLD key)
 *      wraps data keys created during step 2 under the new key, then removes the old wrappings.
 *      From then on the old key is not needed for anything. (If the old key is gone from the
 *      environment already, e.g. embedded mode after replacing master.key, step 3 with the new key
 *      configured only prunes, and refuses when a data key lacks the new wrapping.)
 *
 * Values themselves are not re-encrypted: they are sealed with the data keys, which do not change.
 */

export interface RotationReport {
  tenants: number;
  /** Data keys that got a wrapping under the new master key in this run. */
  wrapped: number;
  /** Data keys that already had one (verified to hold the same data key). */
  alreadyWrapped: number;
  /** Wrappings under other master keys removed (`prune`). */
  pruned: number;
  /** Tenants whose data key is wrapped under neither key: left untouched, reported. */
  unreadable: string[];
}

export class RotationError extends Error {}

export async function rotateMasterKey(redis: RedisClient, current: MasterKey, next: MasterKey, options: { prune?: boolean } = {}): Promise<RotationReport> {
  // With the new key already configured (e.g. embedded mode after replacing master.key) only the
  // prune step makes sense: there is no other key to wrap with.
  const sameKey = current.id === next.id;
  if (sameKey && options.prune !== true) {
    throw new RotationError('the new key is the key already configured (GATEHOUSE_MASTER_KEY): generate a new one with: openssl rand -base64 32, or add --prune to drop wrappings under older keys');
  }
  const tenants = await tenantsWithDataKeys(redis);
  const report: RotationReport = { tenants: tenants.length, wrapped: 0, alreadyWrapped: 0, pruned: 0, unreadable: [] };
  for (const tenant of tenants) {
    const key = stateKeys.dataKey(tenant);
    const wrappings = await redis.hgetall(key);
    const underCurrent = sameKey ? undefined : wrappings[current.id];
    const underNext = wrappings[next.id];
    if (underNext !== undefined) {
      const dek = unwrapDataKey(next, underNext, tenant);
      if (underCurrent !== undefined && !unwrapDataKey(current, underCurrent, tenant).equals(dek)) {
        throw new RotationError(`tenant "${tenant}": the wrappings under the two keys hold different data keys; nothing was pruned`);
      }
      report.alreadyWrapped++;
    } else if (underCurrent !== undefined) {
      const dek = unwrapDataKey(current, underCurrent, tenant);
      // HSETNX: a concurrent run (or a process already on the new key) never has its wrapping replaced.
      await redis.hsetnx(key, next.id, wrapDataKey(next, dek, tenant));
      const stored = await redis.hget(key, next.id);
      if (stored === null || !unwrapDataKey(next, stored, tenant).equals(dek)) {
        throw new RotationError(`tenant "${tenant}": the wrapping under the new key does not hold the tenant's data key; nothing was pruned`);
      }
      report.wrapped++;
    } else {
      report.unreadable.push(tenant);
    }
  }
  if (options.prune === true) {
    if (report.unreadable.length > 0) {
      throw new RotationError(`not pruning: the data keys of ${report.unreadable.join(', ')} are wrapped under neither key`);
    }
    for (const tenant of tenants) {
      const key = stateKeys.dataKey(tenant);
      const others = (await redis.hkeys(key)).filter((id) => id !== next.id);
      if (others.length > 0) report.pruned += await redis.hdel(key, ...others);
    }
  }
  return report;
}

/** Tenants from the index plus, on a single server, any data key found by SCAN (belt and braces). */
async function tenantsWithDataKeys(redis: RedisClient): Promise<string[]> {
  const tenants = new Set(await redis.smembers(stateKeys.tenantIndex));
  if (!('nodes' in redis && typeof redis.nodes === 'function')) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'gh:{t:*}:dek', 'COUNT', 500);
      cursor = next;
      for (const k of keys) {
        const m = /^gh:\{t:([^}]+)\}:dek$/.exec(k);
        if (m !== null) tenants.add(m[1]!);
      }
    } while (cursor !== '0');
  }
  const withKeys: string[] = [];
  for (const tenant of [...tenants].sort()) {
    if ((await redis.exists(stateKeys.dataKey(tenant))) === 1) withKeys.push(tenant);
  }
  return withKeys;
}

const ROTATE_HELP = `usage: gatehouse rotate-master-key --new-key-file FILE [--prune]

Master-key rotation without downtime (docs/admin-api.md). Run with the environment of the
service (GATEHOUSE_MASTER_KEY = the current key, REDIS_URL):
  1. gatehouse rotate-master-key --new-key-file new.key
     wraps every tenant data key under the new key as well; running processes are unaffected
  2. restart every process with GATEHOUSE_MASTER_KEY = the new key
  3. gatehouse rotate-master-key --new-key-file new.key --prune
     wraps data keys created meanwhile, then removes the wrappings under the old key
  --new-key-file FILE  base64 of 32 bytes (openssl rand -base64 32)
  --prune              step 3
  exit 0  done
  exit 1  the key file is unreadable or malformed, or a data key could not be unwrapped
  exit 2  usage error
`;

/** `gatehouse rotate-master-key --new-key-file FILE [--prune]` */
export async function rotateMasterKeyCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'new-key-file': { type: 'string' }, prune: { type: 'boolean', default: false } },
    strict: true,
  });
  const file = values['new-key-file'];
  if (file === undefined) {
    io.stderr.write('gatehouse rotate-master-key: --new-key-file FILE is required (FILE holds the new key: base64 of 32 bytes, e.g. from openssl rand -base64 32)\n');
    return 2;
  }
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr.write(`gatehouse rotate-master-key: cannot read ${file} (${(err as Error).message})\n`);
    return 1;
  }
  const nextKey = decodeMasterKey(raw);
  if (nextKey === undefined) {
    io.stderr.write(`gatehouse rotate-master-key: ${file} must hold base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)\n`);
    return 1;
  }
  const config = loadConfig();
  const resolved = await resolveRedis(config);
  const redis = connectRedis(resolved.stateUrl, { connectionName: 'gatehouse:rotate-master-key', ca: config.redisCa });
  try {
    const current = masterKey(config.masterKey);
    const next = masterKey(nextKey);
    const report = await rotateMasterKey(redis, current, next, { prune: values.prune });
    io.stdout.write(
      `tenant data keys: ${report.tenants}\n` +
        `  wrapped under the new key ${next.id} now: ${report.wrapped}\n` +
        `  already wrapped under it: ${report.alreadyWrapped}\n` +
        (values.prune ? `  wrappings under other keys removed: ${report.pruned}\n` : '') +
        (report.unreadable.length > 0 ? `  wrapped under neither ${current.id} nor ${next.id} (left untouched): ${report.unreadable.join(', ')}\n` : ''),
    );
    if (values.prune) {
      io.stdout.write(`done: only ${next.id} can read the data keys now; the old key is no longer needed.\n`);
    } else {
      io.stdout.write(
        `next: restart every gatehouse process with GATEHOUSE_MASTER_KEY set to the new key` +
          (config.masterKeySource === 'file' ? ` (embedded mode: write it into ${config.homeDir}/master.key)` : '') +
          `, then run this command again with --prune.\n`,
      );
    }
    return report.unreadable.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof RotationError || (err as Error).name === 'DecryptError') {
      io.stderr.write(`gatehouse rotate-master-key: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await closeRedis(redis);
    if (resolved.embedded !== undefined) await resolved.embedded.stop();
  }
}

export const rotateMasterKeyCommandModule: CommandModule = { run: rotateMasterKeyCommand, help: ROTATE_HELP };
