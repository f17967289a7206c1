// One sync: what it evaluated, what it changed (plan) and every error with its position.

import { api, seg } from '../api.js';
import { h } from '../dom.js';
import { stateBadge } from '../components/badges.js';
import { table } from '../components/table.js';
import { duration, timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';
import { every } from '../router.js';

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
    h('p', { class: 'sync-state' }, stateBadge(r.state), ' ', r.state === 'failed' ? `${r.errors.length} error${r.errors.length === 1 ? '' : 's'}; nothing was changed.` : ''),
    h(
      'dl',
      { class: 'meta' },
      row('Tenant', h('a', { href: `#/tenants/${seg(r.tenant)}/repositories` }, r.tenant)),
      row('Repository', h('a', { href: `#/syncs?repository=${seg(r.repository)}` }, r.repository)),
      row('Branch', h('code', {}, r.branch)),
      row('Commit', r.sha ? h('code', { class: 'break' }, r.sha) : null),
      row('Trigger', r.trigger),
      row('Delivery', r.delivery_id ? h('code', {}, r.delivery_id) : null),
      row('Pushed by', r.pusher),
      row('Created', timeEl(r.created_at)),
      row('Started', r.started_at ? timeEl(r.started_at) : null),
      row('Finished', r.finished_at ? timeEl(r.finished_at) : null),
      row('Duration', r.duration_ms === null ? null : duration(r.duration_ms)),
      row('Attempts', r.attempts === undefined ? null : String(r.attempts)),
      row('Last error', r.last_error),
      row('Commit status', cs ? `${cs.state} (${cs.result}): ${cs.description}${cs.message ? ` — ${cs.message}` : ''}` : null),
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
  ];
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
