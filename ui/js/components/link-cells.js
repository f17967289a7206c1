// Table cells shared by the repository-link and Git-link lists: both show the commit that is live
// and the link's last sync the same way.
import { seg } from '../api.js';
import { h } from '../dom.js';
import { ago, shortSha } from '../format.js';
import { pinBadge, syncStateBadge } from './badges.js';

/** `pin`: set while a rollback pins the link. */
export function liveCommitCell(sha, pin = null) {
  const commit = sha ? h('code', { title: sha }, shortSha(sha)) : h('span', { class: 'muted' }, 'nothing applied yet');
  return pin ? h('span', { class: 'live-commit' }, commit, ' ', pinBadge(pin.commit)) : commit;
}

export function lastSyncCell(sync) {
  if (!sync) return h('span', { class: 'muted' }, 'none');
  const errors = sync.errors.length;
  return h(
    'span',
    { class: 'last-sync' },
    syncStateBadge(sync),
    ' ',
    h('a', { href: `#/syncs/${seg(sync.id)}` }, ago(sync.finished_at ?? sync.created_at) || 'details'),
    errors > 0 ? h('span', { class: 'error-count' }, ` · ${errors} error${errors === 1 ? '' : 's'}`) : null,
  );
}
