import { GitHubError, type GitHub } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import type { SyncCoordinator } from './coordinator.js';
import type { GitHubGate } from './github-gate.js';
import type { SyncHistory } from './history.js';
import { syncKeys } from './keys.js';
import type { LinkStore } from './links.js';
import { TERMINAL_STATES } from './model.js';
import type { SyncQueues } from './queues.js';

/**
 * Periodic repair (RECONCILE_INTERVAL_S): a missed webhook must not leave a link behind its
 * branch. For every linked repository and branch the head is read with the ETag of the previous
 * answer (a 304 costs no rate limit), and every link whose last checked head differs gets a
 * `reconcile` sync. It also releases links whose coordination state points at jobs that no
 * longer exist (a process died between two steps).
 */

const UNFINISHED = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

export interface ReconcileReport {
  repositories: number;
  queued: number;
  notModified: number;
  repaired: number;
}

export class Reconciler {
  constructor(
    private readonly deps: {
      redis: RedisClient;
      github: GitHub;
      links: LinkStore;
      coordinator: SyncCoordinator;
      history: SyncHistory;
      queues: SyncQueues;
      gate: GitHubGate;
      log: Logger;
    },
  ) {}

  async run(): Promise<ReconcileReport> {
    const { redis, github, links, coordinator, gate, log } = this.deps;
    const report: ReconcileReport = { repositories: 0, queued: 0, notModified: 0, repaired: 0 };
    for (const repoKey of await links.linkedRepositories()) {
      const entries = await links.linksOfRepository(repoKey);
      if (entries.length === 0) continue;
      report.repositories++;
      for (const e of entries) report.repaired += await this.repair(e.tenant, repoKey);
      if ((await gate.blockedUntil()) > 0) continue;
      for (const branch of new Set(entries.map((e) => e.branch))) {
        const etagKey = syncKeys.headEtag(repoKey, branch);
        const cached = await redis.hgetall(etagKey);
        let head: string;
        try {
          const answer = await github.repositories.branchHead(entries[0]!.repository, branch, cached.etag);
          if ('notModified' in answer) {
            report.notModified++;
            if (cached.sha === undefined) continue;
            head = cached.sha;
          } else {
            head = answer.sha;
            if (answer.etag !== undefined) await redis.hset(etagKey, 'etag', answer.etag, 'sha', head);
          }
        } catch (err) {
          if (err instanceof GitHubError && err.kind === 'rate-limited' && err.retryAt !== undefined) {
            await gate.block(err.retryAt);
            log.warn({ until: new Date(err.retryAt).toISOString() }, 'GitHub rate limit: reconciliation paused');
            return report;
          }
          log.warn({ repository: repoKey, branch, reason: (err as Error).message }, 'reconcile: branch head not readable');
          continue;
        }
        for (const e of entries.filter((x) => x.branch === branch)) {
          const link = await links.get(e.tenant, repoKey);
          if (link === undefined || link.branch !== branch || link.checked_head === head) continue;
          const state = await coordinator.linkState(e.tenant, repoKey);
          // A queued or running sync resolves the head itself; the next pass looks again if it lags.
          if (state.pending !== undefined || state.running !== undefined) continue;
          await coordinator.trigger({ tenant: e.tenant, repository: link.repository, repoKey, branch, trigger: 'reconcile', sha: head });
          report.queued++;
        }
      }
    }
    if (report.queued > 0 || report.repaired > 0) log.info(report, 'reconciliation queued syncs');
    return report;
  }

  /** Releases a link held by a job that no longer exists and re-queues a stranded pending sync. */
  private async repair(tenant: string, repoKey: string): Promise<number> {
    const { coordinator, queues, history, log } = this.deps;
    const state = await coordinator.linkState(tenant, repoKey);
    let repaired = 0;
    if (state.running !== undefined && !UNFINISHED.has(await queues.sync.getJobState(state.running))) {
      const record = await history.getIn(tenant, state.running);
      if (record !== undefined && !TERMINAL_STATES.has(record.state)) {
        await history.update(tenant, state.running, { state: 'failed', finished_at: new Date().toISOString(), errors: [{ path: '', line: 0, column: 0, message: 'the sync was interrupted and its job is gone' }] });
      }
      log.warn({ tenant, repository: repoKey, sync_id: state.running }, 'reconcile: released a link held by a vanished job');
      await coordinator.finish(tenant, repoKey, state.running);
      repaired++;
    } else if (state.running === undefined && state.pending !== undefined && (await queues.sync.getJobState(state.pending)) === 'unknown') {
      log.warn({ tenant, repository: repoKey, sync_id: state.pending }, 'reconcile: re-queued a sync whose job was never added');
      await coordinator.enqueue(tenant, repoKey, state.pending);
      repaired++;
    }
    return repaired;
  }
}
