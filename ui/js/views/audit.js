// The audit log (GET /admin/v1/audit): admin writes and sync outcomes, newest first, filterable by
// tenant, action, actor and time. The filters live in the address, so a filtered view can be
// bookmarked; "Older entries" pages on with the last entry's id.

import { api, seg } from '../api.js';
import { field, h, replaceChildren } from '../dom.js';
import { errorBox } from '../components/errors.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';
import { replaceQuery } from '../router.js';

const LIMITS = [50, 100, 200, 500];
const DEFAULT_LIMIT = 100;
/** Common action prefixes offered by the action filter (any prefix can be typed). */
const ACTION_PREFIXES = ['tenant.', 'secret.', 'variable.', 'connector.', 'cache.purge', 'repository.', 'repository.rollback', 'repository.pinned', 'sync.', 'sync.failed', 'sync.skipped'];

const pad = (n) => String(n).padStart(2, '0');
/** An ISO instant as the value of a datetime-local input (the browser's time zone). */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function auditView({ query, signal }) {
  const body = startView({ title: 'Audit log' });
  const filters = {
    tenant: query.get('tenant') ?? '',
    action: query.get('action') ?? '',
    actor: query.get('actor') ?? '',
    since: query.get('since') ?? '',
    limit: LIMITS.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : DEFAULT_LIMIT,
  };

  const tenantSelect = h('select', { name: 'tenant' }, h('option', { value: '' }, 'All tenants'));
  if (filters.tenant) tenantSelect.append(h('option', { value: filters.tenant, selected: true }, filters.tenant));
  const actionList = h('datalist', { id: 'audit-actions' }, ACTION_PREFIXES.map((a) => h('option', { value: a })));
  const actionInput = h('input', { type: 'search', name: 'action', value: filters.action, placeholder: 'e.g. secret.', spellcheck: false, autocomplete: 'off' });
  // `list` is a read-only property: the suggestions are attached through the attribute.
  actionInput.setAttribute('list', actionList.id);
  const actorInput = h('input', { type: 'search', name: 'actor', value: filters.actor, placeholder: 'tok:… or a name', spellcheck: false, autocomplete: 'off' });
  const sinceInput = h('input', { type: 'datetime-local', name: 'since', value: filters.since ? toLocalInput(filters.since) : '' });
  const limitSelect = h('select', { name: 'limit' }, LIMITS.map((n) => h('option', { value: n, selected: n === filters.limit }, String(n))));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Tenant', tenantSelect),
    field('Action', actionInput),
    actionList,
    field('Actor', actorInput),
    field('Since', sinceInput),
    field('Show', limitSelect),
    h('button', { type: 'submit', class: 'secondary' }, 'Apply'),
  );
  const list = h('div');
  const more = h('div', { class: 'actions' });
  body.append(
    h('p', { class: 'help' }, 'Every admin write (who, what, which object, the answer’s status — never a value) and every sync outcome. Actor: the admin token’s fingerprint, or ', h('code', {}, 'sync'), '; with the name an operator’s tool sent in X-Gatehouse-Actor.'),
    form,
    list,
    more,
  );

  api('GET', '/tenants', { signal })
    .then(({ data }) => {
      for (const t of data.items) if (t.id !== filters.tenant) tenantSelect.append(h('option', { value: t.id }, t.id));
    })
    .catch(() => {});

  let rows = [];

  function params(before) {
    const q = new URLSearchParams();
    if (filters.tenant) q.set('tenant', filters.tenant);
    if (filters.action) q.set('action', filters.action);
    if (filters.actor) q.set('actor', filters.actor);
    if (filters.since) q.set('since', filters.since);
    if (before) q.set('before', before);
    q.set('limit', String(filters.limit));
    return q;
  }

  async function load(before) {
    try {
      const { data } = await api('GET', `/audit?${params(before)}`, { signal });
      rows = before ? [...rows, ...data.items] : data.items;
      render(data.items.length === filters.limit);
    } catch (error) {
      if (before) more.replaceChildren(errorBox(error, { title: 'Could not load older entries' }));
      else showError(list, error, 'Could not load the audit log');
    }
  }

  function render(hasMore) {
    list.replaceChildren(
      table(
        [
          { label: 'Time', cell: (e) => timeEl(e.at) },
          { label: 'Tenant', cell: (e) => h('a', { href: `#/tenants/${seg(e.tenant)}/connectors` }, e.tenant) },
          { label: 'Actor', cell: (e) => h('span', {}, h('code', {}, e.actor), e.actor_name ? h('span', { class: 'actor-name' }, ` ${e.actor_name}`) : null) },
          { label: 'Action', cell: (e) => h('code', {}, e.action) },
          { label: 'Object', cell: (e) => targetCell(e.target), class: 'break' },
          { label: 'Status', cell: (e) => (e.status === undefined ? h('span', { class: 'muted' }, '—') : h('span', { class: e.status >= 400 ? 'error-count' : '' }, String(e.status))), class: 'num' },
          { label: 'Details', cell: (e) => detailsCell(e.details), class: 'break' },
        ],
        rows,
        { caption: `${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}, newest first`, empty: 'No audit entries match these filters.', rowClass: (e) => (e.status >= 400 || e.action === 'sync.failed' ? 'row-failed' : undefined) },
      ),
    );
    replaceChildren(more, hasMore ? h('button', { type: 'button', class: 'secondary', onclick: () => load(rows[rows.length - 1].id) }, 'Older entries') : null);
  }

  function apply() {
    filters.tenant = tenantSelect.value;
    filters.action = actionInput.value.trim();
    filters.actor = actorInput.value.trim();
    // datetime-local is the browser's local time; the API takes an instant.
    const since = sinceInput.value ? new Date(sinceInput.value) : null;
    filters.since = since && !Number.isNaN(since.getTime()) ? since.toISOString() : '';
    filters.limit = Number(limitSelect.value);
    replaceQuery('/audit', { ...filters, limit: filters.limit === DEFAULT_LIMIT ? '' : filters.limit });
    loading(list);
    more.replaceChildren();
    load();
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  for (const control of [tenantSelect, limitSelect, sinceInput]) control.addEventListener('change', apply);

  loading(list);
  await load();
}

/** The object an entry is about: repository, name, permalink … */
function targetCell(target) {
  const entries = Object.entries(target ?? {});
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h('span', {}, entries.map(([k, v], i) => [i > 0 ? ', ' : null, `${k} `, h('code', {}, v)]));
}

/** Revisions, sync ids (linked), commits, plans: one `key: value` per line. */
function detailsCell(details) {
  const entries = Object.entries(details ?? {});
  if (entries.length === 0) return h('span', { class: 'muted' }, '—');
  return h(
    'ul',
    { class: 'audit-details' },
    entries.map(([k, v]) => {
      const value = (k === 'sync_id' || k === 'restores_sync') && typeof v === 'string' && v !== ''
        ? h('a', { href: `#/syncs/${seg(v)}` }, v)
        : h('code', {}, typeof v === 'string' ? v : JSON.stringify(v));
      return h('li', {}, `${k}: `, value);
    }),
  );
}
