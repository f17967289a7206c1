import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { Counter, Histogram, type Registry } from 'prom-client';
import { classifyGitHubError, GitHubError } from '../github/index.js';
import type { AuditLog } from '../audit/log.js';
import { SYNC_ACTOR } from '../audit/model.js';
import type { Logger } from '../logger.js';
import type { SpanScope, Tracing } from '../observability/tracing.js';
import type { SyncCoordinator } from './coordinator.js';
import type { GitHubGate } from './github-gate.js';
import type { SyncHistory } from './history.js';
import type { LinkStore, StoredLink } from './links.js';
import { TERMINAL_STATES, emptyPlan, type CommitStatusReport, type LinkPin, type SyncJobData, type SyncRecord } from './model.js';
import { runPipeline, type PipelineDeps, type Progress, type SyncOutcome } from './pipeline.js';
import type { SyncQueues } from './queues.js';
import { commitStatusFor } from './report.js';
import { SyncFailure, SyncRetry, plainError } from './stages/failure.js';

/**
 * The BullMQ processor of the `sync` queue: claims the link (coordinator), runs the pipeline,
 * records the outcome, reports it to GitHub (via the `status` queue), and hands the link to the
 * next queued sync. Failure handling:
 *  - GitHub rate limit → every GitHub job waits until the reset (GitHubGate); no attempt is used;
 *  - GitHub 5xx, network, Redis trouble, GitHub lagging behind a push → retry with backoff;
 *  - the file is invalid or collides → `failed`, status `failure`, nothing changed;
 *  - retries exhausted or a permanent GitHub error → `failed`, status `error`.
 */

export interface ProcessorDeps extends PipelineDeps {
  coordinator: SyncCoordinator;
  history: SyncHistory;
  links: LinkStore;
  gate: GitHubGate;
  queues: SyncQueues;
  log: Logger;
  metrics: SyncMetrics;
  statusJobOptions: import('bullmq').JobsOptions;
  audit: AuditLog;
  /** Each job a consumer span continuing the trace in its data (src/observability/tracing.ts); absent = off. */
  tracing?: Tracing | undefined;
}

export interface SyncMetrics {
  syncs: Counter<'state'>;
  duration: Histogram<'state'>;
  /** The same per repository link (tenant, repository as linked): bounded by the number of links. */
  linkSyncs: Counter<'tenant' | 'repository' | 'state'>;
  linkDuration: Histogram<'tenant' | 'repository'>;
}

export function syncMetrics(registry: Registry): SyncMetrics {
  const existing = registry.getSingleMetric('gatehouse_syncs_total') as Counter<'state'> | undefined;
  if (existing !== undefined) {
    return {
      syncs: existing,
      duration: registry.getSingleMetric('gatehouse_sync_duration_seconds') as Histogram<'state'>,
      linkSyncs: registry.getSingleMetric('gatehouse_link_syncs_total') as Counter<'tenant' | 'repository' | 'state'>,
      linkDuration: registry.getSingleMetric('gatehouse_link_sync_duration_seconds') as Histogram<'tenant' | 'repository'>,
    };
  }
  return {
    linkSyncs: new Counter({
      name: 'gatehouse_link_syncs_total',
      help: 'Finished syncs per repository link (tenant, repository) and outcome state',
      labelNames: ['tenant', 'repository', 'state'],
      registers: [registry],
    }),
    linkDuration: new Histogram({
      name: 'gatehouse_link_sync_duration_seconds',
      help: 'Time from a sync starting to its outcome, per repository link',
      labelNames: ['tenant', 'repository'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    syncs: new Counter({ name: 'gatehouse_syncs_total', help: 'Finished repository syncs by outcome', labelNames: ['state'], registers: [registry] }),
    duration: new Histogram({
      name: 'gatehouse_sync_duration_seconds',
      help: 'Time from a sync starting to its outcome',
      labelNames: ['state'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

const UNFINISHED_JOB_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
/** While the link is claimed by another live job, look again after this long. */
const BUSY_RECHECK_MS = 1000;

export function createSyncProcessor(deps: ProcessorDeps) {
  const run = processSync(deps);
  const tracing = deps.tracing;
  if (tracing === undefined) return (job: Job<SyncJobData>, token?: string) => run(job, token, undefined);
  return async (job: Job<SyncJobData>, token?: string): Promise<string> => {
    const span = tracing.job('sync', job.name, job.data.trace, { 'messaging.message.id': job.data.syncId, 'gatehouse.tenant': job.data.tenant, 'gatehouse.sync.attempt': job.attemptsMade + 1 });
    try {
      const state = await run(job, token, span);
      span.setAttributes({ 'gatehouse.sync.state': state });
      span.end();
      return state;
    } catch (err) {
      // A job moved to delayed (rate limit, busy link) has not failed.
      if (err instanceof DelayedError) {
        span.setAttributes({ 'gatehouse.sync.state': 'delayed' });
        span.end();
      } else span.end(err);
      throw err;
    }
  };
}

function processSync(deps: ProcessorDeps) {
  return async (job: Job<SyncJobData>, token: string | undefined, span: SpanScope | undefined): Promise<string> => {
    const { tenant, repoKey, syncId } = job.data;
    // GitHub's rate limit holds GitHub links only; a Git link (`git:<name>`) reads another host.
    const blocked = repoKey.startsWith('git:') ? 0 : await deps.gate.blockedUntil();
    if (blocked > 0) {
      await job.moveToDelayed(blocked, token);
      throw new DelayedError();
    }
    const attempt = job.attemptsMade + 1;
    let started = await deps.coordinator.start(tenant, repoKey, syncId, attempt);
    if (started.status === 'busy') {
      const other = await deps.queues.sync.getJobState(started.running);
      if (UNFINISHED_JOB_STATES.has(other)) {
        await job.moveToDelayed(Date.now() + BUSY_RECHECK_MS, token);
        throw new DelayedError();
      }
      deps.log.warn({ tenant, repository: repoKey, sync_id: syncId, stale: started.running }, 'link was claimed by a sync whose job is gone; taking over');
      started = await deps.coordinator.start(tenant, repoKey, syncId, attempt, true);
    }
    if (started.status !== 'ok') {
      // Already finished (a worker died after recording it) or its record is gone: release the link.
      await deps.coordinator.finish(tenant, repoKey, syncId);
      return started.status;
    }
    const record = started.record;
    const link = await deps.links.get(tenant, repoKey);
    if (link === undefined) {
      await finalize(deps, repoKey, undefined, record, { state: 'superseded', sha: record.sha, reason: 'the repository was unlinked' });
      return 'superseded';
    }

    const progress: Progress = { head: null };
    let outcome: SyncOutcome;
    try {
      outcome = await runPipeline(deps, link, record, attempt, progress, span);
    } catch (err) {
      if (err instanceof SyncFailure) {
        outcome = { state: 'failed', sha: err.sha ?? progress.head, errors: err.errors, status: err.status };
      } else {
        const e = err instanceof SyncRetry ? err : classifyUnknown(err);
        if (e instanceof GitHubError && e.kind === 'rate-limited' && e.retryAt !== undefined) {
          await deps.gate.block(e.retryAt);
          await deps.history.update(tenant, syncId, { state: 'queued', last_error: e.message });
          deps.log.warn({ tenant, repository: repoKey, sync_id: syncId, until: new Date(e.retryAt).toISOString() }, 'GitHub rate limit: sync delayed');
          await job.moveToDelayed(e.retryAt, token);
          throw new DelayedError();
        }
        const retryable = e instanceof SyncRetry || (e instanceof GitHubError ? e.kind === 'retryable' : true);
        if (retryable && attempt < (job.opts.attempts ?? 1)) {
          await deps.history.update(tenant, syncId, { state: 'queued', last_error: e.message });
          deps.log.info({ tenant, repository: repoKey, sync_id: syncId, attempt, reason: e.message }, 'sync will be retried');
          throw e;
        }
        outcome = { state: 'failed', sha: progress.head, errors: [plainError(e.message)], status: 'error' };
        await finalize(deps, repoKey, link, record, outcome);
        throw new UnrecoverableError(e.message);
      }
    }
    await finalize(deps, repoKey, link, record, outcome);
    return outcome.state;
  };
}

/** Errors that are not GitHub's: Redis trouble is transient; anything else is reported as is. */
function classifyUnknown(err: unknown): GitHubError | Error {
  if (err instanceof GitHubError) return err;
  if (typeof err === 'object' && err !== null && 'status' in err && 'request' in err) return classifyGitHubError(err, 'GitHub request');
  return err instanceof Error ? err : new Error(String(err));
}

/** `repoKey` is the link's key (job data): `owner/repo` lower-cased, or `git:<name>` for a Git link. */
async function finalize(deps: ProcessorDeps, repoKey: string, link: StoredLink | undefined, record: SyncRecord, outcome: SyncOutcome): Promise<void> {
  const { tenant } = record;
  const finished = Date.now();
  const startedAt = Date.parse(record.started_at ?? record.created_at);
  const status = commitStatusFor(tenant, outcome);
  const commitStatus: CommitStatusReport | undefined = status === undefined || outcome.sha === null ? undefined : { ...status, result: 'pending' };
  const update: Partial<SyncRecord> = {
    state: outcome.state,
    sha: outcome.sha,
    finished_at: new Date(finished).toISOString(),
    duration_ms: Math.max(0, finished - startedAt),
    plan: outcome.state === 'succeeded' ? outcome.plan : emptyPlan(),
    errors: outcome.state === 'failed' ? outcome.errors : [],
    warnings: outcome.state === 'succeeded' ? outcome.warnings : [],
    last_error: outcome.state === 'superseded' ? outcome.reason : outcome.state === 'skipped' ? `pinned to ${shortSha(outcome.pinned)}` : '',
    ...(outcome.state === 'skipped' ? { pinned_to: outcome.pinned } : {}),
    // A sync queued before the link was re-pointed ran against the link's current branch.
    ...(link !== undefined ? { branch: link.branch } : {}),
    ...(commitStatus !== undefined ? { commit_status: commitStatus } : {}),
  };
  await deps.history.update(tenant, record.id, update);
  let pinChange: 'pinned' | 'unpinned' | undefined;
  if (link !== undefined) {
    if (outcome.state === 'succeeded' && record.trigger === 'rollback') {
      // The pin takes effect with the rollback's set, in the same write that records it as applied;
      // the branch head checked before is kept, so reconciliation notices newer commits (and skips them).
      const pin: LinkPin = { commit: outcome.sha, sync_id: record.id, restores_sync: record.restores_sync ?? '', at: new Date(finished).toISOString() };
      if (await deps.links.recordResult(link, { applied: { commit: outcome.sha, blob: outcome.blob, at: pin.at }, pin })) pinChange = 'pinned';
    } else if (outcome.state === 'succeeded') {
      const unpin = record.trigger === 'unpin' && (link.pin ?? null) !== null;
      const ok = await deps.links.recordResult(link, { applied: { commit: outcome.sha, blob: outcome.blob, at: new Date(finished).toISOString() }, checkedHead: outcome.sha, ...(unpin ? { pin: null } : {}) });
      if (ok && unpin) pinChange = 'unpinned';
    } else if (outcome.state === 'unchanged' || outcome.state === 'skipped' || (outcome.state === 'failed' && outcome.status === 'failure' && outcome.sha !== null && record.trigger !== 'rollback')) {
      if (outcome.sha !== null) await deps.links.recordResult(link, { checkedHead: outcome.sha });
    }
  }
  await deps.audit.record(syncAuditEntry(record, outcome));
  if (pinChange !== undefined) await deps.audit.record(pinAuditEntry(record, pinChange, outcome.sha, link?.pin ?? null));
  deps.metrics.syncs.inc({ state: outcome.state });
  deps.metrics.duration.observe({ state: outcome.state }, (finished - startedAt) / 1000);
  deps.metrics.linkSyncs.inc({ tenant, repository: record.repository, state: outcome.state });
  deps.metrics.linkDuration.observe({ tenant, repository: record.repository }, (finished - startedAt) / 1000);
  deps.log.info(
    { tenant, repository: record.repository, sync_id: record.id, state: outcome.state, sha: outcome.sha, ...(outcome.state === 'succeeded' ? { plan: outcome.plan } : {}), ...(outcome.state === 'failed' ? { errors: outcome.errors.length } : {}) },
    'sync finished',
  );
  if (commitStatus !== undefined) {
    await deps.queues.status.add('status', { tenant, repoKey, syncId: record.id }, { ...deps.statusJobOptions, jobId: `st_${record.id}` });
  }
  await deps.coordinator.finish(tenant, repoKey, record.id);
  await deps.history.trim(tenant, repoKey);
}

/** Plan lists longer than this are cut in the audit entry (the sync record has them all). */
const AUDIT_PLAN_ITEMS = 100;

/**
 * The audit entry of a sync outcome: which commit, what changed, how many errors. Error messages
 * stay in the sync record: they may quote the registry file.
 */
function syncAuditEntry(record: SyncRecord, outcome: SyncOutcome) {
  const cut = (list: string[]) => (list.length > AUDIT_PLAN_ITEMS ? [...list.slice(0, AUDIT_PLAN_ITEMS), `… ${list.length - AUDIT_PLAN_ITEMS} more`] : list);
  return {
    tenant: record.tenant,
    actor: SYNC_ACTOR,
    ...(record.pusher !== undefined && record.pusher !== '' ? { actor_name: record.pusher } : {}),
    action: `sync.${outcome.state}`,
    target: { repository: record.repository },
    details: {
      sync_id: record.id,
      trigger: record.trigger,
      sha: outcome.sha,
      ...(outcome.state === 'succeeded' ? { plan: { created: cut(outcome.plan.created), updated: cut(outcome.plan.updated), deleted: cut(outcome.plan.deleted) } } : {}),
      ...(outcome.state === 'failed' ? { errors: outcome.errors.length } : {}),
      ...(outcome.state === 'superseded' ? { reason: outcome.reason } : {}),
      ...(outcome.state === 'skipped' ? { pinned_to: outcome.pinned } : {}),
      ...(record.restores_sync !== undefined ? { restores_sync: record.restores_sync } : {}),
    },
  };
}

/** The pin taking effect (a rollback succeeded) or ending (an unpin applied the branch head), credited to whoever asked. */
function pinAuditEntry(record: SyncRecord, change: 'pinned' | 'unpinned', sha: string | null, previous: LinkPin | null) {
  const by = record.requested_by;
  return {
    tenant: record.tenant,
    actor: by?.actor ?? SYNC_ACTOR,
    ...(by?.actor_name !== undefined ? { actor_name: by.actor_name } : {}),
    action: change === 'pinned' ? 'repository.pinned' : 'repository.unpinned',
    target: { repository: record.repository },
    details: {
      sync_id: record.id,
      ...(change === 'pinned' ? { pinned_to: sha, restores_sync: record.restores_sync ?? null } : { was_pinned_to: previous?.commit ?? null, applied: sha }),
      ...(change === 'pinned' && previous !== null ? { was_pinned_to: previous.commit } : {}),
    },
  };
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/**
 * A job BullMQ failed without our processor concluding it (it stalled more often than allowed,
 * e.g. its workers kept dying): record the failure and release the link.
 */
export async function onSyncJobFailed(deps: ProcessorDeps, job: Job<SyncJobData> | undefined, err: Error): Promise<void> {
  if (job === undefined) return;
  if ((await job.getState()) !== 'failed') return;
  const { tenant, repoKey, syncId } = job.data;
  const record = await deps.history.getIn(tenant, syncId);
  if (record === undefined || TERMINAL_STATES.has(record.state)) return;
  const link = await deps.links.get(tenant, repoKey);
  await finalize(deps, repoKey, link, record, { state: 'failed', sha: record.sha, errors: [plainError(`the sync could not finish: ${err.message}`)], status: 'error' });
}
