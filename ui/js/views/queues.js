// BullMQ queues: job counts per state and workers serving each, refreshed every 5 s; below, depth
// and jobs finished over the last hour or day (sampled by the worker processes into Redis).

import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../components/errors.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';
import { every, replaceQuery } from '../router.js';
import { formatCount, PALETTE, timeChart } from '../components/chart.js';
import { rangeOf, rangeSwitch, REFRESH_MS } from '../components/usage.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'];
const PURPOSE = {
  sync: 'repository syncs (fetch, validate, activate)',
  status: 'commit statuses reported to GitHub',
  reconcile: 'periodic check of every linked branch',
};

export async function queuesView({ signal, query }) {
  const body = startView({ title: 'Queues' });
  const content = h('div');
  const refreshed = h('p', { class: 'muted refreshed' });
  const history = queueHistory(signal, rangeOf(query));
  body.append(content, refreshed, history);
  loading(content);

  async function load() {
    try {
      const { data } = await api('GET', '/queues', { signal });
      replaceChildren(
        content,
        data.github_blocked_until
          ? notice(['GitHub rate limit: no GitHub call before ', timeEl(data.github_blocked_until), '. Syncs wait; they do not fail.'], 'warning')
          : null,
        table(
          [
            { label: 'Queue', cell: (q) => h('span', {}, h('strong', {}, q.name), PURPOSE[q.name] ? h('span', { class: 'muted block' }, PURPOSE[q.name]) : null) },
            ...STATES.map((s) => ({ label: s[0].toUpperCase() + s.slice(1), cell: (q) => h('span', { class: q.counts[s] > 0 && s === 'failed' ? 'count-bad' : undefined }, String(q.counts[s] ?? 0)), class: 'num' })),
            { label: 'Workers', cell: (q) => (q.workers === 0 ? h('span', { class: 'count-warn', title: 'No worker process serves this queue' }, '0') : String(q.workers)), class: 'num' },
          ],
          data.items,
          { caption: 'Jobs per state' },
        ),
        data.items.some((q) => q.workers === 0) ? h('p', { class: 'help' }, 'A queue without workers only fills up: start a process with --role worker (or all).') : null,
      );
      refreshed.textContent = `Updated ${new Date().toLocaleTimeString(undefined, { timeZoneName: 'short' })} · refreshes every 5 s`;
    } catch (error) {
      showError(content, error, 'Could not load the queues');
    }
  }
  await load();
  every(5000, load, signal);
}

/** Depth (jobs waiting, delayed or active) and jobs finished per step, one line per queue. */
function queueHistory(signal, initial) {
  let range = initial;
  const status = h('div');
  const plots = h('div', { class: 'charts' });
  let charts;
  const element = h(
    'section',
    { class: 'card usage', 'aria-label': 'Queues over time' },
    h('div', { class: 'section-head' }, h('h3', {}, 'Over time'), rangeSwitch(range, (key) => {
      range = key;
      replaceQuery('/queues', { range: key === 'hour' ? undefined : key });
      load();
    })),
    status,
    plots,
    h('p', { class: 'help' }, 'Depth is sampled every 15 s by each worker process (the highest sample of a step is shown); no line means no worker was running.'),
  );

  async function load() {
    const asked = range;
    try {
      const { data } = await api('GET', `/queues/usage?range=${asked}`, { signal });
      if (asked !== range) return;
      status.replaceChildren();
      if (charts === undefined) {
        const names = Object.keys(data.series[0]?.queues ?? {});
        const perQueue = (value) => names.map((q, i) => ({ label: q, color: PALETTE[i % PALETTE.length], value: (p) => value(p.queues[q]) }));
        charts = [
          timeChart({ name: 'queue-depth', title: 'Depth (jobs waiting, delayed or active)', format: formatCount, whole: true, series: perQueue((c) => c?.depth ?? null).map((s) => ({ ...s, spanGaps: true })) }),
          timeChart({
            name: 'queue-throughput',
            title: 'Jobs finished per step',
            format: formatCount,
            whole: true,
            series: [
              ...perQueue((c) => c?.completed ?? 0),
              { label: 'failed (all queues)', color: PALETTE[5], dash: [6, 4], value: (p) => Object.values(p.queues).reduce((n, c) => n + c.failed, 0) },
            ],
          }),
        ];
        plots.replaceChildren(...charts.map((c) => c.element));
        signal.addEventListener('abort', () => charts.forEach((c) => c.destroy()), { once: true });
      }
      for (const c of charts) c.update(data.series, (p) => p.t);
      element.dataset.loadedRange = asked;
    } catch (error) {
      if (error.name === 'AbortError') return;
      showError(status, error, 'Could not load the queue history');
    }
  }
  load();
  every(REFRESH_MS, load, signal);
  return element;
}
