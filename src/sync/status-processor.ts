import { DelayedError, type Job } from 'bullmq';
import { classifyGitHubError, type GitHub } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { GitHubGate } from './github-gate.js';
import type { SyncHistory } from './history.js';
import type { StatusJobData } from './model.js';

/**
 * The `status` queue: posts a finished sync's commit status (docs/design.md#sync-history-and-commit-status). A credential that
 * may not write statuses (403/404) is recorded on the sync as `not_permitted` — never fatal;
 * 5xx and network errors are retried; rate limits wait for the reset like every GitHub job.
 */
export function createStatusProcessor(deps: { github: GitHub; history: SyncHistory; gate: GitHubGate; log: Logger }) {
  return async (job: Job<StatusJobData>, token?: string): Promise<string> => {
    const { tenant, syncId } = job.data;
    const blocked = await deps.gate.blockedUntil();
    if (blocked > 0) {
      await job.moveToDelayed(blocked, token);
      throw new DelayedError();
    }
    const record = await deps.history.getIn(tenant, syncId);
    const report = record?.commit_status;
    if (record === undefined || report === undefined || record.sha === null) return 'gone';
    try {
      const outcome = await deps.github.statuses.post(record.repository, record.sha, report.state, report.description);
      await deps.history.update(tenant, syncId, {
        commit_status: { ...report, result: outcome.result, ...(outcome.result === 'not_permitted' ? { message: outcome.message } : {}) },
      });
      return outcome.result;
    } catch (err) {
      const e = classifyGitHubError(err, 'commit status');
      if (e.kind === 'rate-limited' && e.retryAt !== undefined) {
        await deps.gate.block(e.retryAt);
        await job.moveToDelayed(e.retryAt, token);
        throw new DelayedError();
      }
      if (e.kind === 'retryable' && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
      deps.log.warn({ tenant, sync_id: syncId, reason: e.message }, 'commit status could not be posted');
      await deps.history.update(tenant, syncId, { commit_status: { ...report, result: 'failed', message: e.message } });
      return 'failed';
    }
  };
}
