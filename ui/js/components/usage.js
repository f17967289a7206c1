// Usage over time (requests, errors, p50/p95 latency, cache hit ratio) of a tenant or one of its
// connectors, from the minute buckets every process adds to Redis: the totals of the range and
// three charts. Used by the tenant overview and the connector page.

import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { errorBox } from './errors.js';
import { formatCount, formatMs, formatPercent, PALETTE, timeChart } from './chart.js';
import { every } from '../router.js';

export const RANGES = [
  ['hour', 'Last hour'],
  ['day', 'Last day'],
];

export const REFRESH_MS = 30_000;

/** The 'Last hour' / 'Last day' toggle: `onSwitch(range)` when the operator picks the other one. */
export function rangeSwitch(initial, onSwitch) {
  let current = initial;
  const buttons = RANGES.map(([key, label]) =>
    h('button', { type: 'button', class: 'secondary', 'data-range': key, 'aria-pressed': String(key === current), onclick: () => {
      if (key === current) return;
      current = key;
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.range === key));
      onSwitch(key);
    } }, label),
  );
  return h('div', { class: 'actions', role: 'group', 'aria-label': 'Time range' }, buttons);
}

/** The range named in a view's address (?range=day), 'hour' otherwise. */
export const rangeOf = (query) => (RANGES.some(([r]) => r === query.get('range')) ? query.get('range') : 'hour');

/**
 * `path`: the admin API usage route (without ?range). `range`: 'hour' | 'day' (the initial one);
 * `onRange(range)` is told when the operator switches; `onReport(report)` sees every report loaded.
 * Loads at once and refreshes every 30 s until `signal` aborts.
 */
export function usagePanel({ path, signal, heading, range = 'hour', onRange, onReport }) {
  let current = range;
  const status = h('div');
  const totals = h('dl', { class: 'usage-totals' });
  const requests = timeChart({
    name: 'requests',
    title: 'Requests per step',
    format: formatCount,
    whole: true,
    series: [
      { label: 'requests', color: PALETTE[0], value: (p) => p.requests },
      { label: '4xx', color: PALETTE[2], value: (p) => p.errors_4xx },
      { label: '5xx', color: PALETTE[1], value: (p) => p.errors_5xx },
    ],
  });
  const latency = timeChart({
    name: 'latency',
    title: 'Latency (whole request)',
    format: formatMs,
    series: [
      { label: 'p50', color: PALETTE[0], value: (p) => p.p50_ms },
      { label: 'p95', color: PALETTE[4], value: (p) => p.p95_ms },
    ],
  });
  const cache = timeChart({
    name: 'cache',
    title: 'Cache hit ratio (hits or revalidations of cache lookups)',
    format: formatPercent,
    range: [0, 100],
    series: [{ label: 'hit ratio', color: PALETTE[3], value: (p) => (p.cache_hit_ratio === null ? null : p.cache_hit_ratio * 100) }],
  });
  const ranges = rangeSwitch(current, (key) => {
    current = key;
    onRange?.(key);
    load();
  });
  const element = h(
    'section',
    { class: 'card usage', 'aria-label': heading },
    h('div', { class: 'section-head' }, h('h3', {}, heading), ranges),
    status,
    totals,
    h('div', { class: 'charts' }, requests.element, latency.element, cache.element),
  );

  async function load() {
    const asked = current;
    try {
      const { data } = await api('GET', `${path}?range=${asked}`, { signal });
      if (asked !== current) return;
      status.replaceChildren();
      const t = data.totals;
      const stat = (name, label, value) => [h('dt', {}, label), h('dd', { 'data-stat': name }, value)];
      replaceChildren(
        totals,
        stat('requests', 'Requests', String(t.requests)),
        stat('errors', 'Errors', `${t.errors_4xx + t.errors_5xx} (4xx ${t.errors_4xx}, 5xx ${t.errors_5xx})`),
        stat('p50', 'p50', t.p50_ms === null ? '—' : formatMs(t.p50_ms)),
        stat('p95', 'p95', t.p95_ms === null ? '—' : formatMs(t.p95_ms)),
        stat('cache', 'Cache hit ratio', t.cache_hit_ratio === null ? '— (no cache lookups)' : `${formatPercent(t.cache_hit_ratio * 100)} of ${t.cache_lookups}`),
      );
      totals.dataset.range = asked;
      for (const chart of [requests, latency, cache]) chart.update(data.series, (p) => p.t);
      element.dataset.loadedRange = asked;
      onReport?.(data);
    } catch (error) {
      if (error.name === 'AbortError') return;
      status.replaceChildren(errorBox(error, { title: 'Could not load the usage' }));
    }
  }

  load();
  every(REFRESH_MS, load, signal);
  signal.addEventListener('abort', () => [requests, latency, cache].forEach((c) => c.destroy()), { once: true });
  return { element, load };
}
