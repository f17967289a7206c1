// Sync history across tenants, filterable by tenant, repository and state (the filters live in the
// address, so a filtered view can be bookmarked), refreshed every 5 s while auto-refresh is on.

import { api, seg } from '../api.js';
import { field, h, uid } from '../dom.js';
import { SYNC_STATES, syncStateBadge } from '../components/badges.js';
import { table } from '../components/table.js';
import { duration, shortSha, timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';
import { every, replaceQuery } from '../router.js';

const LIMITS = [20, 50, 100, 200, 500];
let autoRefresh = true;

function planSummary(plan) {
  const parts = [];
  if (plan.created.length) parts.push(h('span', { class: 'plan-created', title: plan.created.join(', ') }, `+${plan.created.length}`));
  if (plan.updated.length) parts.push(h('span', { class: 'plan-updated', title: plan.updated.join(', ') }, `~${plan.updated.length}`));
  if (plan.deleted.length) parts.push(h('span', { class: 'plan-deleted', title: plan.deleted.join(', ') }, `−${plan.deleted.length}`));
  return parts.length === 0 ? h('span', { class: 'muted' }, '—') : h('span', { class: 'plan' }, parts);
}

export async function syncListView({ query, signal }) {
  const body = startView({ title: 'Sync history' });
  const filters = {
    tenant: query.get('tenant') ?? '',
    repository: query.get('repository') ?? '',
    state: query.get('state') ?? '',
    limit: LIMITS.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : 50,
  };

  const tenantSelect = h('select', { name: 'tenant' }, h('option', { value: '' }, 'All tenants'));
  if (filters.tenant) tenantSelect.append(h('option', { value: filters.tenant, selected: true }, filters.tenant));
  const repoInput = h('input', { type: 'search', name: 'repository', value: filters.repository, placeholder: 'owner/repo', spellcheck: false, autocomplete: 'off' });
  const stateSelect = h('select', { name: 'state' }, h('option', { value: '' }, 'All states'), SYNC_STATES.map((s) => h('option', { value: s, selected: s === filters.state }, s)));
  const limitSelect = h('select', { name: 'limit' }, LIMITS.map((n) => h('option', { value: n, selected: n === filters.limit }, String(n))));
  const refreshBox = h('input', { type: 'checkbox', id: uid('auto'), checked: autoRefresh });
  const refreshed = h('span', { class: 'muted refreshed', 'aria-live': 'off' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter syncs' },
    field('Tenant', tenantSelect),
    field('Repository', repoInput),
    field('State', stateSelect),
    field('Show', limitSelect),
    h('div', { class: 'checkbox' }, refreshBox, h('label', { for: refreshBox.id }, 'Auto-refresh (5 s)')),
    h('button', { type: 'submit', class: 'secondary' }, 'Apply'),
    refreshed,
  );
  const list = h('div');
  body.append(form, list);

  // The tenant list fills the filter's choices; the history does not wait for it.
  api('GET', '/tenants', { signal })
    .then(({ data }) => {
      for (const t of data.items) if (t.id !== filters.tenant) tenantSelect.append(h('option', { value: t.id }, t.id));
    })
    .catch(() => {});

  let lastJson = '';
  async function load() {
    const q = new URLSearchParams();
    if (filters.tenant) q.set('tenant', filters.tenant);
    if (filters.repository) q.set('repository', filters.repository);
    if (filters.state) q.set('state', filters.state);
    q.set('limit', String(filters.limit));
    try {
      const { data } = await api('GET', `/syncs?${q}`, { signal });
      refreshed.textContent = `Updated ${new Date().toLocaleTimeString(undefined, { timeZoneName: 'short' })}`;
      const json = JSON.stringify(data.items);
      if (json === lastJson) return;
      lastJson = json;
      list.replaceChildren(
        table(
          [
            { label: 'Created', cell: (r) => h('a', { href: `#/syncs/${seg(r.id)}`, 'aria-label': `Sync ${r.id}, ${r.state}` }, timeEl(r.created_at)) },
            { label: 'Tenant', cell: (r) => h('a', { href: `#/tenants/${seg(r.tenant)}/repositories` }, r.tenant) },
            { label: 'Repository', cell: (r) => r.repository },
            { label: 'Branch', cell: (r) => h('code', {}, r.branch) },
            { label: 'Commit', cell: (r) => (r.sha ? h('code', { title: r.sha }, shortSha(r.sha)) : h('span', { class: 'muted' }, '—')) },
            { label: 'Trigger', cell: (r) => r.trigger },
            { label: 'State', cell: (r) => syncStateBadge(r) },
            { label: 'Duration', cell: (r) => duration(r.duration_ms), class: 'num' },
            { label: 'Plan', cell: (r) => planSummary(r.plan) },
            { label: 'Errors', cell: (r) => (r.errors.length > 0 ? h('a', { href: `#/syncs/${seg(r.id)}`, class: 'error-count' }, String(r.errors.length)) : h('span', { class: 'muted' }, '0')), class: 'num' },
          ],
          data.items,
          { caption: `${data.items.length} sync${data.items.length === 1 ? '' : 's'}, newest first`, empty: 'No syncs match these filters.', rowClass: (r) => (r.state === 'failed' ? 'row-failed' : undefined) },
        ),
      );
    } catch (error) {
      lastJson = '';
      showError(list, error, 'Could not load the sync history');
    }
  }

  function apply() {
    filters.tenant = tenantSelect.value;
    filters.repository = repoInput.value.trim();
    filters.state = stateSelect.value;
    filters.limit = Number(limitSelect.value);
    replaceQuery('/syncs', { tenant: filters.tenant, repository: filters.repository, state: filters.state, limit: filters.limit === 50 ? '' : filters.limit });
    lastJson = '';
    loading(list);
    load();
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  for (const control of [tenantSelect, stateSelect, limitSelect]) control.addEventListener('change', apply);

  let stop = null;
  const setAuto = () => {
    autoRefresh = refreshBox.checked;
    stop?.();
    stop = autoRefresh ? every(5000, load, signal) : null;
  };
  refreshBox.addEventListener('change', setAuto);

  loading(list);
  await load();
  setAuto();
}
