import { AppError, BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { CHANGES_CHANNEL, defineScript, execReply, stateKeys, type ScriptRunner } from '../registry/keys.js';
import type { ChangeFeed } from '../tenants/changes.js';
import { associatedData, DecryptError, openString, sealString } from './crypto.js';
import type { DataKeys } from './keys.js';

/**
 * Secrets and variables (docs/admin-api.md#secrets-and-variables, docs/design.md#secrets-and-variables). One namespace per tenant: a name is either a
 * secret or a variable, fixed at creation. Secret values are sealed with the tenant's data key and
 * the (tenant, name) pair as associated data, and never leave the server; variables are plain text.
 *
 * Each name is one field of the tenant's `sv` hash: `<kind>\n<created_at>\n<updated_at>\n<payload>`
 * where the payload is the sealed secret or the variable's value (which may itself contain newlines).
 */

export type ValueKind = 'secret' | 'variable';

export const VALUE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_NAME_LENGTH = 128;
/** Large enough for PEM private keys with chains; small enough to keep the resolver cheap. */
export const MAX_VALUE_BYTES = 65_536;

export interface SecretItem {
  name: string;
  kind: 'secret';
  masked: string;
  updated_at: string;
}

export interface VariableItem {
  name: string;
  kind: 'variable';
  value: string;
  updated_at: string;
}

export type ValueItem = SecretItem | VariableItem;

export interface Resolved {
  secrets: Map<string, string>;
  variables: Map<string, string>;
}

const KIND_CODE: Record<ValueKind, string> = { secret: 's', variable: 'v' };
const CODE_KIND: Record<string, ValueKind> = { s: 'secret', v: 'variable' };

// KEYS: secrets hash, tenant revision. ARGV: name, kind code, now, payload, tenant, channel.
// Every write bumps the tenant revision and announces it, like connector and settings writes: each
// process's in-memory values (src/secrets/memory.ts) are dropped at once or by the periodic check.
const PUT_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local created = ARGV[3]
local status = 'created'
if cur then
  local kind, ca = string.match(cur, '^([^\\n]*)\\n([^\\n]*)\\n')
  if kind ~= ARGV[2] then return {'taken', kind} end
  created = ca
  status = 'updated'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\n' .. created .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[6], ARGV[5] .. ' ' .. rev)
return {status, '', rev}
`;

// KEYS: secrets hash, tenant revision. ARGV: name, kind code, tenant, channel.
const DELETE_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 'missing' end
if string.sub(cur, 1, 1) ~= ARGV[2] then return 'other' end
redis.call('HDEL', KEYS[1], ARGV[1])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ' ' .. rev)
return {'deleted', rev}
`;

interface StoredValue {
  kind: ValueKind;
  created_at: string;
  updated_at: string;
  payload: string;
}

function parseRecord(raw: string): StoredValue | undefined {
  const a = raw.indexOf('\n');
  const b = raw.indexOf('\n', a + 1);
  const c = raw.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const kind = CODE_KIND[raw.slice(0, a)];
  if (kind === undefined) return undefined;
  return { kind, created_at: raw.slice(a + 1, b), updated_at: raw.slice(b + 1, c), payload: raw.slice(c + 1) };
}

/** First character (a whole code point) followed by exactly nine `*` (docs/design.md#secrets-and-variables). */
export function maskSecret(value: string): string {
  const first = value.codePointAt(0);
  return `${first === undefined ? '' : String.fromCodePoint(first)}*********`;
}

export function checkValueName(name: string): void {
  if (name.length > MAX_NAME_LENGTH || !VALUE_NAME_PATTERN.test(name)) {
    throw new BadRequestError(
      'INVALID_NAME',
      `"${name.slice(0, MAX_NAME_LENGTH)}" is not a valid name: use letters, digits and underscores, not starting with a digit, at most ${MAX_NAME_LENGTH} characters`,
    );
  }
}

export function checkValue(value: string): void {
  if (value.trim() === '') throw new BadRequestError('EMPTY_VALUE', 'the value must not be empty');
  if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) {
    throw new AppError(400, 'VALUE_TOO_LONG', `the value is longer than ${MAX_VALUE_BYTES} bytes`);
  }
}

export class SecretStore {
  private readonly putScript: ScriptRunner;
  private readonly deleteScript: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: DataKeys,
    /** Told of this process's writes at once (other processes hear the published revision). */
    private readonly changes?: ChangeFeed,
  ) {
    this.putScript = defineScript(redis, 'ghValuePut', 2, PUT_LUA);
    this.deleteScript = defineScript(redis, 'ghValueDelete', 2, DELETE_LUA);
  }

  /** Creates or updates a value of `kind`. Throws INVALID_NAME, EMPTY_VALUE, VALUE_TOO_LONG, NAME_TAKEN. */
  async put(tenant: string, kind: ValueKind, name: string, value: string): Promise<{ created: boolean; item: ValueItem }> {
    checkValueName(name);
    checkValue(value);
    const payload = kind === 'secret' ? sealString(await this.keys.ensure(tenant), value, associatedData.secret(tenant, name)) : value;
    const now = new Date().toISOString();
    const [status, otherKind, revision] = (await this.putScript([stateKeys.secrets(tenant), stateKeys.revision(tenant)], [name, KIND_CODE[kind], now, payload, tenant, CHANGES_CHANNEL])) as [string, string, number?];
    if (revision !== undefined) this.changes?.changed(tenant, Number(revision));
    if (status === 'taken') {
      const other = CODE_KIND[otherKind] ?? 'value';
      throw new ConflictError('NAME_TAKEN', `"${name}" already exists as a ${other}; a name's kind is fixed: delete the ${other} first to reuse the name`);
    }
    const item: ValueItem =
      kind === 'secret' ? { name, kind, masked: maskSecret(value), updated_at: now } : { name, kind, value, updated_at: now };
    return { created: status === 'created', item };
  }

  /** The names of the tenant's secrets and variables (nothing decrypted): for warnings about unknown names. */
  async names(tenant: string): Promise<{ secret: Set<string>; variable: Set<string> }> {
    const all = await this.redis.hgetall(stateKeys.secrets(tenant));
    const out = { secret: new Set<string>(), variable: new Set<string>() };
    for (const [name, raw] of Object.entries(all)) {
      const kind = CODE_KIND[raw.slice(0, raw.indexOf('\n'))];
      if (kind !== undefined) out[kind].add(name);
    }
    return out;
  }

  async list(tenant: string, kind: ValueKind): Promise<ValueItem[]> {
    const all = await this.redis.hgetall(stateKeys.secrets(tenant));
    const items: ValueItem[] = [];
    let dek: Buffer | undefined;
    for (const name of Object.keys(all).sort()) {
      const rec = parseRecord(all[name]!);
      if (rec === undefined || rec.kind !== kind) continue;
      if (rec.kind === 'variable') {
        items.push({ name, kind: 'variable', value: rec.payload, updated_at: rec.updated_at });
        continue;
      }
      // The mask needs the first character, which is not stored in clear anywhere.
      dek ??= await this.keys.get(tenant);
      const masked = dek === undefined ? '*********' : maskSecret(this.openSecret(dek, tenant, name, rec.payload) ?? '');
      items.push({ name, kind: 'secret', masked, updated_at: rec.updated_at });
    }
    return items;
  }

  /** Deletes `name` when it exists as `kind`; otherwise 404 (a variable is not deleted through the secrets route). */
  async delete(tenant: string, kind: ValueKind, name: string): Promise<void> {
    checkValueName(name);
    const reply = (await this.deleteScript([stateKeys.secrets(tenant), stateKeys.revision(tenant)], [name, KIND_CODE[kind], tenant, CHANGES_CHANNEL])) as string | [string, number];
    const status = Array.isArray(reply) ? reply[0] : reply;
    if (Array.isArray(reply)) this.changes?.changed(tenant, Number(reply[1]));
    if (status !== 'deleted') throw new NotFoundError(kind === 'secret' ? 'SECRET_NOT_FOUND' : 'VARIABLE_NOT_FOUND', `no ${kind} named "${name}"`);
  }

  /**
   * Values for the runtime: exactly the names a connector's templates reference. One Redis round
   * trip (plus the data key on the first use per process). A name missing, or existing as the
   * other kind, is absent from the maps: the template then leaves its literal expression.
   */
  async resolve(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Promise<Resolved> {
    const out: Resolved = { secrets: new Map(), variables: new Map() };
    const names = [...new Set([...secretNames, ...variableNames])];
    if (names.length === 0) return out;
    const wantSecrets = secretNames.length > 0;
    let dek = wantSecrets ? this.keys.cached(tenant) : undefined;
    let raws: (string | null)[];
    if (wantSecrets && dek === undefined) {
      const replies = await this.redis
        .multi()
        .hmget(stateKeys.secrets(tenant), ...names)
        .hget(stateKeys.dataKey(tenant), this.keys.master.id)
        .exec();
      raws = execReply<(string | null)[]>(replies, 0);
      dek = await this.keys.fromWrapped(tenant, execReply<string | null>(replies, 1));
    } else {
      raws = await this.redis.hmget(stateKeys.secrets(tenant), ...names);
    }
    const secretSet = new Set(secretNames);
    const variableSet = new Set(variableNames);
    for (let i = 0; i < names.length; i++) {
      const raw = raws[i];
      if (raw === null || raw === undefined) continue;
      const rec = parseRecord(raw);
      const name = names[i]!;
      if (rec?.kind === 'variable' && variableSet.has(name)) out.variables.set(name, rec.payload);
      if (rec?.kind === 'secret' && secretSet.has(name) && dek !== undefined) {
        const value = this.openSecret(dek, tenant, name, rec.payload);
        if (value === undefined) {
          // A cached key can be outdated only if the tenant's key material was replaced under us
          // (e.g. Redis restored from another backup): retry once with the key from Redis.
          this.keys.forget(tenant);
          const fresh = await this.keys.get(tenant);
          const again = fresh === undefined ? undefined : this.openSecret(fresh, tenant, name, rec.payload);
          if (again === undefined) throw new SecretDecryptError(tenant, name);
          out.secrets.set(name, again);
        } else {
          out.secrets.set(name, value);
        }
      }
    }
    return out;
  }

  private openSecret(dek: Buffer, tenant: string, name: string, sealed: string): string | undefined {
    try {
      return openString(dek, sealed, associatedData.secret(tenant, name), `secret ${name}`);
    } catch (err) {
      if (err instanceof DecryptError) return undefined;
      throw err;
    }
  }
}

/** A stored secret failed authentication: altered, moved from another tenant/name, or a foreign key. */
export class SecretDecryptError extends AppError {
  constructor(tenant: string, name: string) {
    super(500, 'SECRET_UNREADABLE', `secret "${name}" of tenant "${tenant}" cannot be decrypted (altered, moved, or sealed under another key)`);
    this.name = 'SecretDecryptError';
  }
}
