import type { CommitState } from '../github/index.js';
import { statusDescription } from '../github/index.js';
import { DEFAULT_REGISTRY_PATH } from './model.js';
import type { SyncOutcome } from './pipeline.js';

/**
 * The one-line commit status of an outcome (docs/design.md#sync-history-and-commit-status). The tenant is named because several
 * tenants may link one repository and GitHub shows one `gatehouse/connectors` status per commit.
 * Superseded syncs report nothing: a newer commit is (or will be) reported instead; neither do
 * skipped ones (the link is pinned to another commit).
 */
export function commitStatusFor(tenant: string, outcome: SyncOutcome): { state: Exclude<CommitState, 'pending'>; description: string } | undefined {
  switch (outcome.state) {
    case 'succeeded': {
      const p = outcome.plan;
      const n = outcome.live;
      return {
        state: 'success',
        description: statusDescription(`${tenant}: ${n} connector${n === 1 ? '' : 's'} live (${p.created.length} created, ${p.updated.length} updated, ${p.deleted.length} deleted)`),
      };
    }
    case 'unchanged':
      return { state: 'success', description: statusDescription(`${tenant}: registry unchanged, connectors already live`) };
    case 'failed': {
      const first = outcome.errors[0];
      const where = first === undefined ? '' : first.line > 0 ? ` line ${first.line}:${first.column}` : '';
      const what = first === undefined ? '' : `${first.path === '' ? '' : ` ${first.path}`}: ${first.message}`;
      if (outcome.status === 'error') return { state: 'error', description: statusDescription(`${tenant}: could not sync: ${first?.message ?? 'unknown error'}`) };
      const count = outcome.errors.length;
      // A registry elsewhere than the default (a folder of a monorepo) is named.
      const inFile = first?.file === undefined || first.file === DEFAULT_REGISTRY_PATH ? '' : ` in ${first.file}`;
      return { state: 'failure', description: statusDescription(`${tenant}: ${count} error${count === 1 ? '' : 's'}${inFile}, nothing changed;${where}${what}`) };
    }
    case 'superseded':
    case 'skipped':
      // A pinned link says nothing about the commit it skipped (its own commit keeps its status).
      return undefined;
  }
}
