import type { Logger } from '../logger.js';
import type { SpanScope } from '../observability/tracing.js';
import type { RedisClient } from '../redis/connection.js';
import { defineScript, type ScriptRunner } from '../registry/keys.js';
import { newSyncId, recordFromHash, recordToHash, type SyncHistory } from './history.js';
import { syncKeys } from './keys.js';
import { emptyPlan, type SyncJobData, type SyncRecord, type SyncTrigger } from './model.js';
import { syncJobOptions, type RetrySettings, type SyncQueues } from './queues.js';

/**
 * Per-link coordination: at most one sync runs per link, and any number of triggers while one is
 * queued collapse into it ("newest data": the queued record takes the latest pushed sha and
 * delivery, and the run resolves the branch head when it starts).
 *
 * State per link (tenant hash tag, so the scripts are atomic on Cluster too):
 *   pending = the sync id queued and not started yet (at most one)
 *   running = the sync id in progress (kept across its retries, cleared when it finishes)
 * A trigger creates a record only when nothing is pending; it enqueues only when nothing runs —
 * otherwise the finishing sync enqueues the pending one. As a second guard every job carries the
 * BullMQ deduplication id of its link with `keepLastIfActive`, so BullMQ itself never holds two
 * unfinished jobs of one link: a follow-up added while the current job is still active becomes
 * a real job only once that one has finished.
 */

// KEYS: linkState, record key (pending's when ARGV[1] names one, else the new id's), tenantSyncs, linkSyncs
// ARGV: expected pending ('' = none), new id, created ms, sha, delivery_id, pusher, trigger, restores_sync,
// requested_by JSON, then record hash pairs
const TRIGGER_LUA = `
local pending = redis.call('HGET', KEYS[1], 'pending') or ''
if pending ~= ARGV[1] then return {'retry', pending} end
if pending ~= '' then
  if redis.call('HGET', KEYS[2], 'state') == 'queued' then
    local queued = redis.call('HGET', KEYS[2], 'trigger')
    -- A rollback names its commit: it takes the queued sync over, and nothing but an unpin changes it.
    if ARGV[7] == 'rollback' then
      redis.call('HSET', KEYS[2], 'trigger', 'rollback', 'sha', ARGV[4], 'restores_sync', ARGV[8], 'requested_by', ARGV[9])
      return {'merged', pending}
    end
    if queued == 'rollback' and ARGV[7] ~= 'unpin' then return {'merged', pending} end
    if ARGV[7] == 'unpin' then
      redis.call('HSET', KEYS[2], 'trigger', 'unpin', 'requested_by', ARGV[9])
      if queued == 'rollback' then redis.call('HSET', KEYS[2], 'sha', '', 'restores_sync', '') end
      return {'merged', pending}
    end
    if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'sha', ARGV[4]) end
    if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'delivery_id', ARGV[5]) end
    if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'pusher', ARGV[6]) end
    -- An operator's request (manual resync, link) re-applies even an unchanged file: keep that intent
    -- (an unpin queued already re-applies the head).
    if (ARGV[7] == 'manual' or ARGV[7] == 'link') and queued ~= 'unpin' then redis.call('HSET', KEYS[2], 'trigger', ARGV[7]) end
    return {'merged', pending}
  end
  -- The pending record vanished or moved on without clearing the marker: forget it.
  redis.call('HDEL', KEYS[1], 'pending')
  return {'retry', ''}
end
redis.call('HSET', KEYS[2], unpack(ARGV, 10))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[1], 'pending', ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'running') == 1 then return {'created', ARGV[2], 'wait'} end
return {'created', ARGV[2], 'enqueue'}
`;

// KEYS: linkState, record. ARGV: sync id, started_at, attempts, take over a stale owner ('1')
const START_LUA = `
local running = redis.call('HGET', KEYS[1], 'running')
if running and running ~= ARGV[1] and ARGV[4] ~= '1' then return {'busy', running} end
if redis.call('HGET', KEYS[1], 'pending') == ARGV[1] then redis.call('HDEL', KEYS[1], 'pending') end
redis.call('HSET', KEYS[1], 'running', ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return {'missing', running or ''} end
local state = redis.call('HGET', KEYS[2], 'state')
-- Finished before (a worker died after recording the result): nothing left but to release the link.
if state ~= 'queued' and state ~= 'running' then return {'done', state} end
if not redis.call('HGET', KEYS[2], 'started_at') then redis.call('HSET', KEYS[2], 'started_at', ARGV[2]) end
redis.call('HSET', KEYS[2], 'state', 'running', 'attempts', ARGV[3], 'last_error', '')
return {'ok', redis.call('HGETALL', KEYS[2])}
`;

// KEYS: linkState. ARGV: sync id. Returns the pending id to enqueue next ('' = none).
const FINISH_LUA = `
if redis.call('HGET', KEYS[1], 'running') == ARGV[1] then redis.call('HDEL', KEYS[1], 'running') end
return redis.call('HGET', KEYS[1], 'pending') or ''
`;

// KEYS: linkState, record. ARGV: sync id, finished_at, reason. Retires a pending sync absorbed by another job.
const ABSORB_LUA = `
if redis.call('HGET', KEYS[1], 'pending') == ARGV[1] then redis.call('HDEL', KEYS[1], 'pending') end
if redis.call('HGET', KEYS[2], 'state') == 'queued' then
  redis.call('HSET', KEYS[2], 'state', 'superseded', 'finished_at', ARGV[2], 'duration_ms', '0', 'last_error', ARGV[3])
end
return 1
`;

export interface TriggerInput {
  tenant: string;
  /** `owner/repo` as the link spells it. */
  repository: string;
  repoKey: string;
  branch: string;
  trigger: SyncTrigger;
  sha?: string;
  deliveryId?: string;
  pusher?: string;
  /** `git` for links to any Git host (src/sync/git-links.ts); GitHub otherwise. */
  source?: 'github' | 'git';
  /** A rollback: the earlier succeeded sync whose commit (`sha`) is re-applied. */
  restoresSync?: string;
  /** A rollback or unpin: who asked. */
  requestedBy?: { actor: string; actor_name?: string };
  /** The span of what triggered it (a webhook delivery): the job is queued under it and carries its context. */
  trace?: SpanScope | undefined;
}

export interface TriggerResult {
  syncId: string;
  /** `new`: a record was created; `merged`: an already queued sync of the link covers it. */
  outcome: 'new' | 'merged';
}

export type StartResult =
  | { status: 'ok'; record: SyncRecord }
  | { status: 'busy'; running: string }
  | { status: 'missing' }
  | { status: 'done' };

/** The producer span's attributes (messaging semantic conventions). */
const SEND_ATTRIBUTES = (tenant: string, syncId: string) => ({
  'messaging.system': 'bullmq',
  'messaging.destination.name': 'sync',
  'messaging.operation.type': 'send',
  'messaging.message.id': syncId,
  'gatehouse.tenant': tenant,
});

export function dedupId(tenant: string, repoKey: string): string {
  return `${tenant}/${repoKey}`;
}

export class SyncCoordinator {
  private readonly triggerScript: ScriptRunner;
  private readonly startScript: ScriptRunner;
  private readonly finishScript: ScriptRunner;
  private readonly absorbScript: ScriptRunner;
  /** Per link: the pending sync id this process saw last (a guess, verified by the script). */
  private readonly pendingGuess = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly history: SyncHistory,
    private readonly queues: SyncQueues,
    private readonly retry: RetrySettings,
    private readonly log: Logger,
  ) {
    this.triggerScript = defineScript(redis, 'ghSyncTrigger', 4, TRIGGER_LUA);
    this.startScript = defineScript(redis, 'ghSyncStart', 2, START_LUA);
    this.finishScript = defineScript(redis, 'ghSyncFinish', 1, FINISH_LUA);
    this.absorbScript = defineScript(redis, 'ghSyncAbsorb', 2, ABSORB_LUA);
  }

  /** Queues a sync of the link, or folds the trigger into the one already queued. */
  async trigger(input: TriggerInput): Promise<TriggerResult> {
    const { tenant, repoKey } = input;
    const stateKey = syncKeys.linkState(tenant, repoKey);
    // The script needs the pending record's key up front; the last one seen here is usually right
    // (a burst of pushes merges into it), and a wrong guess costs one more round trip.
    let expected = this.pendingGuess.get(stateKey) ?? '';
    for (let round = 0; round < 8; round++) {
      const now = Date.now();
      const id = newSyncId(now);
      const record: SyncRecord = {
        id,
        tenant,
        repository: input.repository,
        branch: input.branch,
        sha: input.sha ?? null,
        trigger: input.trigger,
        state: 'queued',
        created_at: new Date(now).toISOString(),
        finished_at: null,
        duration_ms: null,
        plan: emptyPlan(),
        errors: [],
        attempts: 0,
        ...(input.source === 'git' ? { source: 'git' as const } : {}),
        ...(input.deliveryId !== undefined ? { delivery_id: input.deliveryId } : {}),
        ...(input.pusher !== undefined ? { pusher: input.pusher } : {}),
        ...(input.restoresSync !== undefined ? { restores_sync: input.restoresSync } : {}),
        ...(input.requestedBy !== undefined ? { requested_by: input.requestedBy } : {}),
      };
      const reply = (await this.triggerScript(
        [stateKey, syncKeys.record(tenant, expected === '' ? id : expected), syncKeys.tenantSyncs(tenant), syncKeys.linkSyncs(tenant, repoKey)],
        [
          expected, id, now, input.sha ?? '', input.deliveryId ?? '', input.pusher ?? '', input.trigger,
          input.restoresSync ?? '', input.requestedBy === undefined ? '' : JSON.stringify(input.requestedBy),
          ...Object.entries(recordToHash(record)).flat(),
        ],
      )) as [string, string, string?];
      if (reply[0] === 'retry') {
        expected = reply[1];
        continue;
      }
      this.remember(stateKey, reply[1]);
      if (reply[0] === 'merged') return { syncId: reply[1], outcome: 'merged' };
      await this.history.indexGlobally(tenant, repoKey, id, now);
      if (reply[2] === 'enqueue') await this.enqueue(tenant, repoKey, id, input.trace);
      return { syncId: id, outcome: 'new' };
    }
    throw new Error(`could not queue a sync for ${tenant}/${repoKey}: the link state kept changing`);
  }

  private remember(stateKey: string, pending: string): void {
    if (this.pendingGuess.size >= 10_000) this.pendingGuess.clear();
    this.pendingGuess.set(stateKey, pending);
  }

  /** Adds the BullMQ job of a queued sync (idempotent: the job id is the sync id). */
  async enqueue(tenant: string, repoKey: string, syncId: string, trace?: SpanScope): Promise<void> {
    const dedup = dedupId(tenant, repoKey);
    const add = (data: SyncJobData) => this.queues.sync.add('sync', data, {
      ...syncJobOptions(this.retry),
      jobId: syncId,
      deduplication: { id: dedup, keepLastIfActive: true },
    });
    const job = trace === undefined
      ? await add({ tenant, repoKey, syncId })
      : await trace.child('send sync', { kind: 'producer', attributes: SEND_ATTRIBUTES(tenant, syncId) }, (span) => add({ tenant, repoKey, syncId, trace: span.carrier() }));
    if (job.id === syncId) return;
    // BullMQ kept another unfinished job of this link. If that job is active ours was stored as its
    // successor; otherwise (waiting, retrying) it has not resolved the head yet and will cover ours.
    const storedNext = await this.queues.connection.hget(this.queues.sync.toKey(`dn:${dedup}`), 'jid');
    if (storedNext === syncId || (await this.queues.sync.getJob(syncId)) !== undefined) return;
    this.log.info({ tenant, repository: repoKey, sync_id: syncId, covered_by: job.id }, 'queued sync covered by an earlier unfinished job of the link');
    await this.absorbScript([syncKeys.linkState(tenant, repoKey), syncKeys.record(tenant, syncId)], [syncId, new Date().toISOString(), `covered by sync ${job.id ?? ''}, which had not started yet`]);
  }

  /** Marks the sync running on this link. `takeOver` replaces a stale owner (its job is gone). */
  async start(tenant: string, repoKey: string, syncId: string, attempts: number, takeOver = false): Promise<StartResult> {
    const reply = (await this.startScript(
      [syncKeys.linkState(tenant, repoKey), syncKeys.record(tenant, syncId)],
      [syncId, new Date().toISOString(), attempts, takeOver ? '1' : ''],
    )) as [string, unknown];
    if (reply[0] === 'busy') return { status: 'busy', running: reply[1] as string };
    if (reply[0] === 'missing') return { status: 'missing' };
    if (reply[0] === 'done') return { status: 'done' };
    const flat = reply[1] as string[];
    const hash: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
    const record = recordFromHash(hash);
    if (record === undefined) return { status: 'missing' };
    return { status: 'ok', record };
  }

  /** The sync ended (any outcome): release the link and start the follow-up, if one is queued. */
  async finish(tenant: string, repoKey: string, syncId: string): Promise<void> {
    const next = (await this.finishScript([syncKeys.linkState(tenant, repoKey)], [syncId])) as string;
    if (next !== '') await this.enqueue(tenant, repoKey, next);
  }

  async linkState(tenant: string, repoKey: string): Promise<{ pending?: string; running?: string }> {
    const h = await this.redis.hgetall(syncKeys.linkState(tenant, repoKey));
    return { ...(h.pending ? { pending: h.pending } : {}), ...(h.running ? { running: h.running } : {}) };
  }

  async clear(tenant: string, repoKey: string): Promise<void> {
    await this.redis.del(syncKeys.linkState(tenant, repoKey));
  }
}
