import type { RedisClient } from '../redis/connection.js';

/**
 * Every Redis key of the state domain (tenants, secrets, registry). Per-tenant keys carry the hash
 * tag `{t:<tenant>}` so the multi-key scripts of one tenant run on one Redis Cluster slot; the only
 * cross-tenant key is the tenant index, which is never part of a multi-key operation.
 */

const tag = (tenant: string) => `gh:{t:${tenant}}`;

export const stateKeys = {
  /** SET of every tenant id. */
  tenantIndex: 'gh:tenants',
  /** HASH: `doc` (JSON without the session secret), `created_at`, `session_secret` (sealed). */
  tenant: (tenant: string) => `${tag(tenant)}:tenant`,
  /** HASH: master key id → the tenant's data key wrapped under that master key. */
  dataKey: (tenant: string) => `${tag(tenant)}:dek`,
  /** HASH: name → secret or variable record (one namespace for both kinds). */
  secrets: (tenant: string) => `${tag(tenant)}:sv`,
  /** HASH: permalink → connector metadata line record (owner, revision, timestamps). */
  connectorMeta: (tenant: string) => `${tag(tenant)}:cmeta`,
  /** HASH: permalink → normalised definition JSON. */
  connectorDefs: (tenant: string) => `${tag(tenant)}:cdefs`,
  /** STRING counter: bumped by every change a per-process view caches (tenant settings, connectors). */
  revision: (tenant: string) => `${tag(tenant)}:rev`,
} as const;

/** Pub/sub channel announcing `<tenant> <revision>` after every tenant-state change. */
export const CHANGES_CHANNEL = 'gh:changes';

export type ScriptRunner = (keys: string[], args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a Lua script on the client (ioredis sends EVALSHA and falls back to EVAL after a
 * restart flushed the script cache) and returns a typed-enough caller. Scripts are how the state
 * domain gets atomic read-check-write without WATCH, which is unsafe on a shared connection.
 */
export function defineScript(redis: RedisClient, name: string, numberOfKeys: number, lua: string): ScriptRunner {
  const client = redis as unknown as Record<string, unknown>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, { numberOfKeys, lua });
  return (keys, args) => (client[name] as (...a: (string | number)[]) => Promise<unknown>).call(redis, ...keys, ...args);
}

/** The result of command `index` of a MULTI/pipeline `exec()`, rethrowing its error. */
export function execReply<T>(replies: [Error | null, unknown][] | null, index: number): T {
  const entry = replies?.[index];
  if (entry === undefined) throw new Error('redis transaction was aborted');
  if (entry[0] !== null) throw entry[0];
  return entry[1] as T;
}
