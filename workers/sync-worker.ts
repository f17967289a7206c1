import { Worker, type Job } from 'bullmq';
import { closeRedis, connectRedis } from '../src/redis/connection.js';
import type { Services } from '../src/services.js';
import { QUEUE_PREFIX } from '../src/sync/keys.js';
import type { CheckJobData, StatusJobData, SyncJobData } from '../src/sync/model.js';
import { createSyncProcessor, onSyncJobFailed, type ProcessorDeps } from '../src/sync/processor.js';
import { QUEUE_NAMES, statusJobOptions } from '../src/sync/queues.js';
import { GIT_POLL_JOB, GitPoller } from '../src/sync/git-poller.js';
import { Reconciler } from '../src/sync/reconciler.js';
import { createCheckProcessor } from '../src/sync/check-processor.js';
import { createStatusProcessor } from '../src/sync/status-processor.js';

/**
 * BullMQ workers of the sync (started by `gatehouse serve --role worker|all`): `sync` (the
 * pipeline), `status` (commit statuses and pull request checks) and `reconcile` (the job scheduler's periodic re-check).
 * `close()` stops taking jobs and waits for the running ones — a SIGTERM never cuts a sync in
 * half; a SIGKILL leaves the job to BullMQ's stalled-job check, which hands it to another worker.
 */

export interface SyncWorkerOptions {
  /** Links synced in parallel by this process (one sync per link at a time regardless). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is retried after about this. */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs (those whose worker died). */
  stalledIntervalMs?: number;
  /** Stalls before a job is failed rather than retried. */
  maxStalledCount?: number;
  /** Register the reconcile job scheduler (default true; RECONCILE_INTERVAL_S=0 disables it). */
  reconcile?: boolean;
}

export interface SyncWorkers {
  workers: Worker[];
  reconciler: Reconciler;
  gitPoller: GitPoller;
  close(): Promise<void>;
}

/** How often a worker process samples the queue depths for the usage charts. */
const DEPTH_SAMPLE_MS = 15_000;

export const RECONCILE_SCHEDULER_ID = 'reconcile-linked-branches';


export async function startSyncWorkers(services: Services, options: SyncWorkerOptions = {}): Promise<SyncWorkers> {
  const { sync, config, log } = services;
  // Workers block on Redis (BRPOPLPUSH-style waits): their connection must never give up on a command.
  const connection = connectRedis(services.redisUrls.state, { connectionName: 'gatehouse:workers', maxRetriesPerRequest: null, ca: config.redisCa });
  connection.on('error', (err: Error) => log.warn({ err: { message: err.message } }, 'worker redis connection error'));
  const common = {
    connection,
    prefix: QUEUE_PREFIX,
    ...(options.lockDurationMs !== undefined ? { lockDuration: options.lockDurationMs } : {}),
    ...(options.stalledIntervalMs !== undefined ? { stalledInterval: options.stalledIntervalMs } : {}),
    ...(options.maxStalledCount !== undefined ? { maxStalledCount: options.maxStalledCount } : {}),
  };

  const deps: ProcessorDeps = {
    sources: sync.sources,
    sourceStep: sync.sourceStep,
    git: services.git,
    registry: services.registry,
    links: sync.links,
    valueNames: (tenant) => services.secrets.names(tenant),
    staleAttempts: sync.settings.staleAttempts,
    coordinator: sync.coordinator,
    history: sync.history,
    gate: sync.gate,
    queues: sync.queues,
    log,
    metrics: sync.metrics,
    statusJobOptions: statusJobOptions(sync.settings.statusRetry),
    audit: services.audit,
    tracing: services.tracing,
  };

  const syncWorker = new Worker<SyncJobData, string>(QUEUE_NAMES.sync, createSyncProcessor(deps), { ...common, concurrency: options.concurrency ?? 4 });
  syncWorker.on('failed', (job: Job<SyncJobData> | undefined, err: Error) => {
    onSyncJobFailed(deps, job, err).catch((e: unknown) => log.warn({ err: { message: (e as Error).message } }, 'could not record a failed sync job'));
  });
  const postStatus = createStatusProcessor({ github: sync.github, git: services.git, history: sync.history, gate: sync.gate, log, publicUrl: config.publicUrl });
  const checkPullRequest = createCheckProcessor({
    github: sync.github,
    sourceStep: sync.sourceStep,
    registry: services.registry,
    links: sync.links,
    history: sync.history,
    gate: sync.gate,
    log,
    publicUrl: config.publicUrl,
    valueNames: (tenant) => services.secrets.names(tenant),
  });
  // Everything reported to GitHub: commit statuses of syncs (`status`) and pull request checks (`check`).
  const statusWorker = new Worker<StatusJobData | CheckJobData, string>(
    QUEUE_NAMES.status,
    (job, token) => (job.name === 'check' ? checkPullRequest(job as Job<CheckJobData>, token) : postStatus(job as Job<StatusJobData>, token)),
    { ...common, concurrency: 4 },
  );
  const reconciler = new Reconciler({
    redis: services.redis,
    github: sync.github,
    links: sync.links,
    coordinator: sync.coordinator,
    history: sync.history,
    queues: sync.queues,
    gate: sync.gate,
    log,
  });
  const gitPoller = new GitPoller({ git: services.git, coordinator: sync.coordinator, log });
  // One pass at a time (reconciliation or Git polling): a slow pass must not overlap the next tick.
  const reconcileWorker = new Worker(
    QUEUE_NAMES.reconcile,
    async (job: Job) => JSON.stringify(job.name === GIT_POLL_JOB ? await gitPoller.run() : await reconciler.run()),
    { ...common, concurrency: 1 },
  );
  const workers = [syncWorker, statusWorker, reconcileWorker];
  const { metrics, usage } = services.telemetry;
  const finished = (queue: string, outcome: 'completed' | 'failed', job: Job | undefined) => {
    if (job?.processedOn !== undefined && job.finishedOn !== undefined) metrics.jobDuration.observe({ queue, outcome }, (job.finishedOn - job.processedOn) / 1000);
    usage.recordJob(queue, outcome);
  };
  for (const w of workers) {
    w.on('error', (err: Error) => log.warn({ err: { message: err.message }, queue: w.name }, 'worker error'));
    w.on('completed', (job: Job) => finished(w.name, 'completed', job));
    // A job moved to delayed (rate limit, busy link) is not a failure; only its final attempt counts.
    w.on('failed', (job: Job | undefined) => {
      if (job !== undefined && job.finishedOn !== undefined) finished(w.name, 'failed', job);
    });
  }
  // Queue depth over time for the dashboard: sampled by every worker process (the last one in a minute wins).
  const sampleDepths = () => {
    sync.jobCounts().then(
      (queues) => usage.recordDepths(Object.fromEntries(queues.map((q) => [q.name, (q.counts.waiting ?? 0) + (q.counts.active ?? 0) + (q.counts.delayed ?? 0) + (q.counts.prioritized ?? 0)]))),
    ).catch(() => undefined);
  };
  const depthTimer = setInterval(sampleDepths, DEPTH_SAMPLE_MS);
  depthTimer.unref();
  sampleDepths();
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  if (options.reconcile !== false && config.reconcileIntervalS > 0) {
    await sync.queues.reconcile.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: config.reconcileIntervalS * 1000 },
      { name: 'reconcile', data: {}, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  } else if (options.reconcile !== false) {
    await sync.queues.reconcile.removeJobScheduler(RECONCILE_SCHEDULER_ID);
  }

  // Git polling is scheduled once some Git link is polled (linking schedules it too).
  if (await services.git.hasPolledLinks()) await services.git.schedulePolling();

  let closed = false;
  services.workersRunning = () => !closed && workers.every((w) => w.isRunning());
  log.info({ queues: workers.map((w) => w.name), reconcile_interval_s: config.reconcileIntervalS, github: sync.github.mode }, 'sync workers started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      closed = true;
      clearInterval(depthTimer);
      await Promise.all(workers.map((w) => w.close()));
      await closeRedis(connection);
    })();
    return closing;
  };
  services.onClose(close);
  return { workers, reconciler, gitPoller, close };
}
