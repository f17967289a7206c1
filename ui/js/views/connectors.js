// A tenant's connectors: manual (Code Mode) and repository-owned (read-only), both kinds.

import { api, seg } from '../api.js';
import { h } from '../dom.js';
import { sourceBadge } from '../components/badges.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { loading, showError } from '../page.js';
import { tenantFrame } from './tenants.js';

export async function connectorsTab(ctx) {
  const frame = await tenantFrame(ctx, 'connectors');
  if (!frame) return;
  const id = frame.tenant.id;
  const list = h('div');
  frame.body.append(
    h(
      'div',
      { class: 'section-head' },
      h('h2', {}, 'Connectors'),
      h('a', { class: 'button primary', href: `#/tenants/${seg(id)}/new-connector` }, 'New connector'),
    ),
    list,
  );
  loading(list);
  try {
    const { data } = await api('GET', `/tenants/${seg(id)}/connectors`, { signal: ctx.signal });
    list.replaceChildren(
      table(
        [
          { label: 'Permalink', cell: (c) => h('a', { href: `#/tenants/${seg(id)}/connectors/${seg(c.permalink)}` }, c.permalink) },
          { label: 'Name', cell: (c) => c.name },
          { label: 'Kind', cell: (c) => c.kind },
          { label: 'Source', cell: (c) => sourceBadge(c.source) },
          { label: 'Repository', cell: (c) => c.repository ?? h('span', { class: 'muted' }, '—') },
          { label: 'Revision', cell: (c) => h('code', { title: c.revision }, c.revision.slice(0, 12)) },
          { label: 'Updated', cell: (c) => timeEl(c.updated_at) },
        ],
        data.items,
        {
          caption: `${data.items.length} connector${data.items.length === 1 ? '' : 's'}`,
          empty: 'No connectors yet. Create a manual one with “New connector”, or link a repository.',
        },
      ),
    );
  } catch (error) {
    showError(list, error, 'Could not load the connectors');
  }
}
