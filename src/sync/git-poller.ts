import { GitSourceError } from '../git/index.js';
import type { Logger } from '../logger.js';
import type { SyncCoordinator } from './coordinator.js';
import { gitLinkKey } from './git-links.js';
import type { GitSources } from './git-service.js';

/**
 * Polling for Git links (hosts without webhooks, or a missed delivery): every tick the links whose
 * interval has elapsed read their branch head (the ref advertisement only: no objects are
 * fetched) and a link whose head differs from the last one a sync looked at gets a `reconcile`
 * sync. ETag-free: the head commit is the comparison. A link with a sync queued or running is left
 * to it. One pass at a time (the reconcile worker runs with concurrency 1).
 */

export const GIT_POLL_SCHEDULER_ID = 'poll-git-links';
export const GIT_POLL_JOB = 'git-poll';

export interface PollReport {
  polled: number;
  queued: number;
  failed: number;
}

/** Heads read in parallel per pass: polling many links must not open hundreds of connections at once. */
const PARALLEL = 8;

export class GitPoller {
  constructor(private readonly deps: { git: GitSources; coordinator: SyncCoordinator; log: Logger }) {}

  async run(now = Date.now()): Promise<PollReport> {
    const { git, coordinator, log } = this.deps;
    const report: PollReport = { polled: 0, queued: 0, failed: 0 };
    const due = await git.links.claimDue(now, async (tenant, name) => {
      const link = await git.links.get(tenant, name);
      return link === undefined ? null : git.pollIntervalMs(link);
    });
    for (let i = 0; i < due.length; i += PARALLEL) {
      await Promise.all(due.slice(i, i + PARALLEL).map(async ({ tenant, name }) => {
        const link = await git.links.get(tenant, name);
        if (link === undefined) return;
        report.polled++;
        let head: string;
        try {
          head = await git.remotes.head(await git.target(link));
        } catch (err) {
          report.failed++;
          const reason = err instanceof GitSourceError || err instanceof Error ? err.message : String(err);
          log.warn({ tenant, git_link: name, reason }, 'git poll: branch head not readable');
          return;
        }
        if (head === link.checked_head || head === link.applied?.commit) return;
        const state = await coordinator.linkState(tenant, gitLinkKey(name));
        if (state.pending !== undefined || state.running !== undefined) return;
        await coordinator.trigger({ tenant, repository: link.url, repoKey: gitLinkKey(name), branch: link.branch, trigger: 'reconcile', sha: head, source: 'git' });
        report.queued++;
      }));
    }
    if (report.queued > 0 || report.failed > 0) log.info(report, 'git poll');
    return report;
  }
}
