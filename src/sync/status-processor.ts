import { DelayedError, type Job } from 'bullmq';
import { classifyGitHubError, type GitHub } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { GitHubGate } from './github-gate.js';
import type { SyncHistory } from './history.js';
import { GitSourceError } from '../git/index.js';
import type { GitSources } from './git-service.js';
import { syncRecordUrl } from './check-processor.js';
import type { StatusJobData } from './model.js';

/**
 * The `status` queue: posts a finished sync's commit status, linked to the sync record on the
 * dashboard when PUBLIC_URL is set (docs/design.md#sync-history-and-commit-status). A credential that
 * may not write statuses (403/404) is recorded on the sync as `not_permitted` — never fatal;
 * 5xx and network errors are retried; rate limits wait for the reset like every GitHub job.
 */
export function createStatusProcessor(deps: { github: GitHub; git: GitSources; history: SyncHistory; gate: GitHubGate; log: Logger; publicUrl?: string | undefined }) {
  const postGit = gitStatusPoster(deps);
  return async (job: Job<StatusJobData>, token?: string): Promise<string> => {
    const { tenant, syncId } = job.data;
    if (job.data.repoKey.startsWith('git:')) return postGit(job);
    const blocked = await deps.gate.blockedUntil();
    if (blocked > 0) {
      await job.moveToDelayed(blocked, token);
      throw new DelayedError();
    }
    const record = await deps.history.getIn(tenant, syncId);
    const report = record?.commit_status;
    if (record === undefined || report === undefined || record.sha === null) return 'gone';
    try {
      const outcome = await deps.github.statuses.post(record.repository, record.sha, report.state, report.description, syncRecordUrl(deps.publicUrl, syncId));
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

/**
 * Git links: the status goes to GitLab's or Gitea/Forgejo's REST API with the link's token,
 * linked to the sync record like GitHub's when PUBLIC_URL is set. No
 * token, or a host with no known status API (`provider: generic`), is recorded as `skipped` with
 * the reason; a token that may not write statuses as `not_permitted`. Network trouble and 5xx are
 * retried like GitHub's.
 */
function gitStatusPoster(deps: { git: GitSources; history: SyncHistory; log: Logger; publicUrl?: string | undefined }) {
  return async (job: Job<StatusJobData>): Promise<string> => {
    const { tenant, repoKey, syncId } = job.data;
    const record = await deps.history.getIn(tenant, syncId);
    const report = record?.commit_status;
    if (record === undefined || report === undefined || record.sha === null) return 'gone';
    const link = await deps.git.links.get(tenant, repoKey.slice('git:'.length));
    const skip = async (message: string) => {
      await deps.history.update(tenant, syncId, { commit_status: { ...report, result: 'skipped', message } });
      return 'skipped';
    };
    if (link === undefined) return skip('the Git link was removed before its status was posted');
    if (link.provider === 'generic') return skip('the host has no commit status API Gatehouse knows: set provider to gitlab or gitea on the link if it is one of those');
    let token: string | undefined;
    try {
      token = await deps.git.statusToken(link);
    } catch (err) {
      return skip((err as Error).message);
    }
    if (token === undefined) return skip('the link has no token_secret, so no commit status can be written');
    try {
      const targetUrl = syncRecordUrl(deps.publicUrl, syncId);
      const outcome = await deps.git.statuses.post({ provider: link.provider, url: link.url, sha: record.sha, state: report.state, description: report.description, token, ...(targetUrl !== undefined ? { targetUrl } : {}) });
      await deps.history.update(tenant, syncId, { commit_status: { ...report, result: outcome.result, ...(outcome.result === 'not_permitted' ? { message: outcome.message } : {}) } });
      return outcome.result;
    } catch (err) {
      const retryable = err instanceof GitSourceError ? err.retryable : true;
      if (retryable && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
      const message = (err as Error).message;
      deps.log.warn({ tenant, sync_id: syncId, reason: message }, 'commit status could not be posted');
      await deps.history.update(tenant, syncId, { commit_status: { ...report, result: 'failed', message } });
      return 'failed';
    }
  };
}
