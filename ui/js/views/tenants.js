// Tenants: the list, and the frame of a tenant's pages (heading and section tabs).

import { api, seg } from '../api.js';
import { h } from '../dom.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';

export function sessionLabel(session) {
  if (!session) return 'none (anonymous callers only)';
  if (session.jwks_url) return `JWKS: ${session.jwks_url}`;
  return 'HS256 shared secret';
}

export async function tenantListView({ signal }) {
  const body = startView({ title: 'Tenants', actions: [h('a', { class: 'button primary', href: '#/new-tenant' }, 'New tenant')] });
  loading(body);
  try {
    const { data } = await api('GET', '/tenants', { signal });
    body.replaceChildren(
      table(
        [
          { label: 'ID', cell: (t) => h('a', { href: `#/tenants/${seg(t.id)}/connectors` }, t.id) },
          { label: 'Name', cell: (t) => t.name },
          { label: 'Session tokens', cell: (t) => sessionLabel(t.session) },
          { label: 'Allowed origins', cell: (t) => (t.allowed_origins.length === 0 ? h('span', { class: 'muted' }, 'none') : t.allowed_origins.join(', ')) },
          { label: 'Rate limit', cell: (t) => (t.rate_limit_per_minute === null ? h('span', { class: 'muted' }, 'off') : `${t.rate_limit_per_minute}/min`) },
          { label: 'Updated', cell: (t) => timeEl(t.updated_at) },
        ],
        data.items,
        { caption: `${data.items.length} tenant${data.items.length === 1 ? '' : 's'}`, empty: 'No tenants yet. Create the first one with “New tenant”.' },
      ),
    );
  } catch (error) {
    showError(body, error, 'Could not load the tenants');
  }
}

const TABS = [
  ['overview', 'Overview'],
  ['connectors', 'Connectors'],
  ['test', 'Test Connection'],
  ['secrets', 'Secrets'],
  ['variables', 'Variables'],
  ['repositories', 'Repositories'],
  ['settings', 'Settings'],
];

/**
 * The frame of a tenant page: breadcrumb, heading, section tabs. Loads the tenant (404 → message).
 * Returns {tenant, body} or undefined when the tenant could not be loaded.
 */
export async function tenantFrame({ params, signal }, active, { title, crumbs = [] } = {}) {
  const id = params.tenant;
  const base = `#/tenants/${seg(id)}`;
  const body = startView({
    title: title ?? `Tenant ${id}`,
    crumbs: [{ label: 'Tenants', href: '#/tenants' }, { label: id, href: `${base}/connectors` }, ...crumbs],
  });
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Tenant sections' },
    TABS.map(([key, label]) => h('a', { href: `${base}/${key}`, 'aria-current': key === active ? 'page' : undefined }, label)),
    h('a', { href: `#/syncs?tenant=${seg(id)}`, class: 'tab-aside' }, 'Sync history →'),
  );
  const content = h('div', { class: 'tab-body' });
  body.append(tabs, content);
  loading(content);
  try {
    const { data } = await api('GET', `/tenants/${seg(id)}`, { signal });
    const heading = document.querySelector('main h1');
    if (heading && title === undefined) heading.textContent = `${data.name} `;
    if (heading && title === undefined) heading.append(h('span', { class: 'muted id' }, `(${data.id})`));
    content.replaceChildren();
    return { tenant: data, body: content };
  } catch (error) {
    showError(content, error, `Could not load tenant ${id}`);
    return undefined;
  }
}
