// One sync: what it evaluated, what it changed (plan) and every error with its position; a
// succeeded sync of a repository link or a Git link can be rolled back to (its commit is applied
// again and the link pinned to it).

import { api, ApiError, repositoryPath, seg } from '../api.js';
import { h } from '../dom.js';
import { pinBadge, syncStateBadge } from '../components/badges.js';
import { confirmDialog } from '../components/dialog.js';
import { errorBox } from '../components/errors.js';
import { warningsSection } from '../components/warnings.js';
import { table } from '../components/table.js';
import { duration, shortSha, timeEl } from '../format.js';
import { flash, loading, showError, startView } from '../page.js';
import { every, navigate } from '../router.js';

export async function syncDetailView({ params, signal }) {
  const id = params.id;
  const body = startView({ title: `Sync ${id}`, crumbs: [{ label: 'Syncs', href: '#/syncs' }, { label: id }] });
  loading(body);
  let lastJson = '';

  async function load() {
    let r;
    try {
      ({ data: r } = await api('GET', `/syncs/${seg(id)}`, { signal }));
    } catch (error) {
      showError(body, error, `Could not load sync ${id}`);
      return false;
    }
    const json = JSON.stringify(r);
    if (json !== lastJson) {
      lastJson = json;
      body.replaceChildren(...render(r));
    }
    return r.state === 'queued' || r.state === 'running';
  }

  const live = await load();
  if (live) {
    const stop = every(2000, async () => {
      if (!(await load())) stop();
    }, signal);
  }
}

function render(r) {
  const row = (label, value) => (value === undefined || value === null || value === '' ? null : [h('dt', {}, label), h('dd', {}, value)]);
  const tenantLink = (p) => h('a', { href: `#/tenants/${seg(r.tenant)}/connectors/${seg(p)}` }, p);
  const cs = r.commit_status;
  return [
    h('p', { class: 'sync-state' }, syncStateBadge(r), ' ', r.state === 'failed' ? `${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; nothing was changed.` : r.state === 'skipped' ? 'The link is pinned: this commit was not applied.' : ''),
    rollbackControl(r),
    h(
      'dl',
      { class: 'meta' },
      row('Tenant', h('a', { href: `#/tenants/${seg(r.tenant)}/repositories` }, r.tenant)),
      row('Repository', h('a', { href: `#/syncs?repository=${seg(r.repository)}` }, r.repository)),
      row('Branch', h('code', {}, r.branch)),
      row('Commit', r.sha ? h('code', { class: 'break' }, r.sha) : null),
      row('Trigger', r.trigger),
      row('Restores', r.restores_sync ? h('a', { href: `#/syncs/${seg(r.restores_sync)}` }, r.restores_sync) : null),
      row('Pinned to', r.pinned_to ? pinBadge(r.pinned_to) : null),
      row('Requested by', r.requested_by ? `${r.requested_by.actor}${r.requested_by.actor_name ? ` (${r.requested_by.actor_name})` : ''}` : null),
      row('Delivery', r.delivery_id ? h('code', {}, r.delivery_id) : null),
      row('Pushed by', r.pusher),
      row('Created', timeEl(r.created_at)),
      row('Started', r.started_at ? timeEl(r.started_at) : null),
      row('Finished', r.finished_at ? timeEl(r.finished_at) : null),
      row('Duration', r.duration_ms === null ? null : duration(r.duration_ms)),
      row('Attempts', r.attempts === undefined ? null : String(r.attempts)),
      row('Last error', r.last_error),
      row('Commit status', cs ? `${cs.state} (${cs.result}): ${cs.description}${cs.message ? ` — ${cs.message}` : ''}` : null),
      row('Check run', r.check_run ? `${r.check_run.conclusion} (${r.check_run.result})${r.check_run.message ? ` — ${r.check_run.message}` : ''}` : null),
    ),
    h('h2', {}, 'Plan'),
    h(
      'div',
      { class: 'plan-columns' },
      [
        ['Created', r.plan.created, true],
        ['Updated', r.plan.updated, true],
        ['Deleted', r.plan.deleted, false],
      ].map(([label, items, linkable]) =>
        h('section', { class: 'plan-column', 'aria-label': `${label} connectors` }, h('h3', {}, `${label} (${items.length})`), items.length === 0 ? h('p', { class: 'muted' }, 'none') : h('ul', {}, items.map((p) => h('li', {}, linkable ? tenantLink(p) : h('code', {}, p))))),
      ),
    ),
    h('h2', {}, `Errors (${r.errors.length})`),
    ...errorsSection(r.errors),
    warningsSection(r.warnings, { heading: 'h2', caption: 'Never blocking. Positions are 1-based, in the registry file at this commit.' }),
  ];
}

/**
 * "Roll back to this commit" for a succeeded sync of a GitHub repository link or a Git link (pull
 * request checks applied nothing). The server refuses, with the reason, what cannot be rolled back
 * to now (a sync of the link running, the file no longer valid …).
 */
function rollbackControl(r) {
  if (r.state !== 'succeeded' || !r.sha || r.trigger === 'pull_request') return null;
  const status = h('div');
  const button = h('button', { type: 'button', class: 'secondary' }, 'Roll back to this commit');
  button.addEventListener('click', async () => {
    status.replaceChildren();
    const ok = await confirmDialog({
      title: `Roll back ${r.repository} to ${shortSha(r.sha)}?`,
      message: `The connectors of commit ${shortSha(r.sha)} are applied again for tenant ${r.tenant}, and ${r.repository} is pinned to that commit: pushes are recorded as skipped, not applied, until you unpin it on the tenant's Repositories page.`,
      confirmLabel: 'Roll back and pin',
      danger: false,
    });
    if (!ok) return;
    button.disabled = true;
    try {
      const { data } = await api('POST', `${await linkPath(r)}/rollback`, { json: { sha: r.sha } });
      flash(`Rollback of ${r.repository} to ${shortSha(data.sha)} queued (${data.sync_id}).`, 'success', { navigating: true });
      navigate(`/syncs/${encodeURIComponent(data.sync_id)}`);
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Not rolled back' }));
      button.disabled = false;
    }
  });
  return h('div', { class: 'rollback' }, button, status);
}

/** The admin path of the link a sync belongs to: a Git link's record names its clone URL, the link is found by it. */
async function linkPath(r) {
  if (r.source !== 'git') return repositoryPath(r.tenant, r.repository);
  const { data } = await api('GET', `/tenants/${seg(r.tenant)}/git`);
  const link = data.items.find((l) => l.url === r.repository);
  if (!link) throw new ApiError(404, 'GIT_LINK_NOT_FOUND', `tenant "${r.tenant}" has no Git link reading ${r.repository} any more`);
  return `/tenants/${seg(r.tenant)}/git/${seg(link.name)}`;
}

/**
 * File errors (a JSON pointer and a position in the registry file) as a table; errors that do not
 * point into the file — GitHub or Redis trouble, a missing branch — as plain messages, since a
 * Path/Line/Column table of dashes says nothing.
 */
function errorsSection(errors) {
  const inFile = errors.filter((e) => e.path || e.line > 0);
  const other = errors.filter((e) => !(e.path || e.line > 0));
  const parts = [];
  if (other.length > 0) {
    parts.push(h('ul', { class: 'plain-errors', 'aria-label': 'Errors' }, other.map((e) => h('li', { class: 'break' }, e.message))));
  }
  if (inFile.length > 0 || errors.length === 0) {
    parts.push(
      table(
        [
          { label: 'Permalink', cell: (e) => (e.permalink ? h('code', {}, e.permalink) : h('span', { class: 'muted' }, '—')) },
          { label: 'Path', cell: (e) => h('code', { class: 'break' }, e.path || '/') },
          { label: 'Line', cell: (e) => (e.line > 0 ? String(e.line) : '—'), class: 'num' },
          { label: 'Column', cell: (e) => (e.column > 0 ? String(e.column) : '—'), class: 'num' },
          { label: 'Message', cell: (e) => e.message, class: 'break' },
        ],
        inFile,
        { empty: 'No errors.', caption: inFile.length > 0 ? 'Positions are 1-based, in the registry file at this commit.' : undefined },
      ),
    );
  }
  return parts;
}
