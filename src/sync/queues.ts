import { Queue, type JobsOptions } from 'bullmq';
import { closeRedis, connectRedis, type RedisClient } from '../redis/connection.js';
import { QUEUE_PREFIX } from './keys.js';
import type { CheckJobData, StatusJobData, SyncJobData } from './model.js';

/**
 * BullMQ queues of the sync:
 *  - `sync`: one job per sync record; at most one per link exists unfinished (see coordinator.ts);
 *  - `status`: what Gatehouse reports to GitHub, retried on their own so GitHub trouble never
 *    re-runs a sync: commit statuses and check runs of syncs (jobs `status`), and pull request
 *    checks (jobs `check`: read and validate the head commit's file, post a check run with the
 *    plan per linked tenant, apply nothing);
 *  - `reconcile`: the job scheduler's periodic re-check of every linked branch.
 * All share the prefix `gh:{bull}`: one hash tag, so BullMQ's multi-key scripts work on Cluster.
 */

export const QUEUE_NAMES = { sync: 'sync', status: 'status', reconcile: 'reconcile' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

export interface RetrySettings {
  /** Attempts of a sync job for GitHub 5xx / network / Redis trouble (rate limits cost none). */
  attempts: number;
  /** First backoff delay; doubles each attempt (exponential, with jitter). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { attempts: 6, backoffMs: 2000 };

export function syncJobOptions(retry: RetrySettings): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.25 },
    // History lives in the sync records; finished jobs are kept briefly for operators only.
    removeOnComplete: { count: 1000, age: 24 * 3600 },
    removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
  };
}

export function statusJobOptions(retry: RetrySettings): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.25 },
    removeOnComplete: { count: 1000, age: 24 * 3600 },
    removeOnFail: { count: 5000, age: 7 * 24 * 3600 },
  };
}

export interface SyncQueues {
  sync: Queue<SyncJobData>;
  status: Queue<StatusJobData | CheckJobData>;
  reconcile: Queue<Record<string, never>>;
  /** The producer connection (fails fast while Redis is away, unlike workers' blocking ones). */
  connection: RedisClient;
  all(): Queue[];
  close(): Promise<void>;
}

/** `ca`: REDIS_CA_FILE's PEM, for rediss URLs. */
export function createQueues(redisUrl: string, ca?: string): SyncQueues {
  const connection = connectRedis(redisUrl, { connectionName: 'gatehouse:queues', ca });
  const opts = { connection, prefix: QUEUE_PREFIX };
  const sync = new Queue<SyncJobData>(QUEUE_NAMES.sync, opts);
  const status = new Queue<StatusJobData | CheckJobData>(QUEUE_NAMES.status, opts);
  const reconcile = new Queue<Record<string, never>>(QUEUE_NAMES.reconcile, opts);
  // A Queue re-emits connection errors; the connection's own listener (services) reports them.
  for (const q of [sync, status, reconcile] as Queue[]) q.on('error', () => undefined);
  return {
    sync,
    status,
    reconcile,
    connection,
    all: () => [sync, status, reconcile] as Queue[],
    async close() {
      await Promise.all([sync.close(), status.close(), reconcile.close()]);
      await closeRedis(connection);
    },
  };
}
