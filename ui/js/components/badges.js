import { h } from '../dom.js';

const STATE_CLASS = {
  succeeded: 'ok',
  unchanged: 'ok',
  failed: 'bad',
  running: 'busy',
  queued: 'busy',
  superseded: 'neutral',
};

export const SYNC_STATES = ['queued', 'running', 'succeeded', 'failed', 'superseded', 'unchanged'];

export function stateBadge(state) {
  return h('span', { class: ['badge', `badge-${STATE_CLASS[state] ?? 'neutral'}`] }, state ?? 'unknown');
}

/** Where a connector comes from: repository-owned ones are read-only here. */
export function sourceBadge(source) {
  return source === 'repository'
    ? h('span', { class: 'badge badge-github', title: 'Owned by a linked GitHub repository: read-only here' }, 'GitHub')
    : h('span', { class: 'badge badge-manual', title: 'Manual connector (Code Mode): editable here' }, 'Manual');
}
