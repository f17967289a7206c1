import { h } from '../dom.js';
import { shortSha } from '../format.js';

const STATE_CLASS = {
  succeeded: 'ok',
  unchanged: 'ok',
  failed: 'bad',
  running: 'busy',
  queued: 'busy',
  superseded: 'neutral',
  skipped: 'neutral',
};

export const SYNC_STATES = ['queued', 'running', 'succeeded', 'failed', 'superseded', 'unchanged', 'skipped'];

export function stateBadge(state) {
  return h('span', { class: ['badge', `badge-${STATE_CLASS[state] ?? 'neutral'}`] }, state ?? 'unknown');
}

/** A link pinned to a commit by a rollback, or a sync skipped because of that pin. */
export function pinBadge(commit) {
  return h('span', { class: 'badge badge-pinned', title: `Pinned to ${commit}: pushes are recorded as skipped until Unpin` }, `pinned to ${shortSha(commit)}`);
}

/** A sync's state, and for a skipped one the pin that kept its commit out: "skipped (pinned to abc1234)". */
export function syncStateBadge(record) {
  if (record.state !== 'skipped' || !record.pinned_to) return stateBadge(record.state);
  return h('span', { class: 'sync-state-pinned' }, stateBadge(record.state), ' ', pinBadge(record.pinned_to));
}

/** Where a connector comes from: repository-owned ones are read-only here. */
export function sourceBadge(source) {
  return source === 'repository'
    ? h('span', { class: 'badge badge-github', title: 'Owned by a linked GitHub repository: read-only here' }, 'GitHub')
    : h('span', { class: 'badge badge-manual', title: 'Manual connector (Code Mode): editable here' }, 'Manual');
}
