// A tenant's overview: its traffic over the last hour or day (all connectors together) and the
// same numbers per connector, most requested first.

import { seg } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { table } from '../components/table.js';
import { formatMs, formatPercent } from '../components/chart.js';
import { rangeOf, usagePanel } from '../components/usage.js';
import { replaceQuery } from '../router.js';
import { tenantFrame } from './tenants.js';

export async function overviewTab(ctx) {
  const frame = await tenantFrame(ctx, 'overview');
  if (!frame) return;
  const id = frame.tenant.id;
  const perConnector = h('div', { class: 'usage-connectors' });
  const usage = usagePanel({
    path: `/tenants/${seg(id)}/usage`,
    signal: ctx.signal,
    heading: 'Traffic of all connectors',
    range: rangeOf(ctx.query),
    onRange: (range) => replaceQuery(`/tenants/${seg(id)}/overview`, { range: range === 'hour' ? undefined : range }),
    onReport: (report) =>
      replaceChildren(
        perConnector,
        table(
          [
            {
              label: 'Connector',
              // Executions that named no existing connector are counted under "(unknown)", which has no page.
              cell: (c) => (c.permalink === '(unknown)' ? h('span', { class: 'muted' }, 'unknown permalinks (404)') : h('a', { href: `#/tenants/${seg(id)}/connectors/${seg(c.permalink)}` }, c.permalink)),
            },
            { label: 'Requests', cell: (c) => String(c.requests), class: 'num' },
            { label: '4xx', cell: (c) => String(c.errors_4xx), class: 'num' },
            { label: '5xx', cell: (c) => h('span', { class: c.errors_5xx > 0 ? 'count-bad' : undefined }, String(c.errors_5xx)), class: 'num' },
            { label: 'p50', cell: (c) => (c.p50_ms === null ? '—' : formatMs(c.p50_ms)), class: 'num' },
            { label: 'p95', cell: (c) => (c.p95_ms === null ? '—' : formatMs(c.p95_ms)), class: 'num' },
            { label: 'Cache hit ratio', cell: (c) => (c.cache_hit_ratio === null ? '—' : formatPercent(c.cache_hit_ratio * 100)), class: 'num' },
          ],
          report.connectors,
          { caption: `Per connector, ${report.range === 'day' ? 'last day' : 'last hour'}`, empty: 'No executions in this range.' },
        ),
      ),
  });
  frame.body.append(usage.element, perConnector);
}
