// Table cells shared by the repository-link and Git-link lists: both show the commit that is live
// and the link's last sync the same way.
import { seg } from '../api.js';
import { h } from '../dom.js';
import { ago, shortSha } from '../format.js';
import { stateBadge } from './badges.js';

export function liveCommitCell(sha) {
  return sha ? h('code', { title: sha }, shortSha(sha)) : h('span', { class: 'muted' }, 'nothing applied yet');
}

export function lastSyncCell(sync) {
  if (!sync) return h('span', { class: 'muted' }, 'none');
  const errors = sync.errors.length;
  return h(
    'span',
    { class: 'last-sync' },
    stateBadge(sync.state),
    ' ',
    h('a', { href: `#/syncs/${seg(sync.id)}` }, ago(sync.finished_at ?? sync.created_at) || 'details'),
    errors > 0 ? h('span', { class: 'error-count' }, ` · ${errors} error${errors === 1 ? '' : 's'}`) : null,
  );
}
