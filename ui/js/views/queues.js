// BullMQ queues: job counts per state and workers serving each, refreshed every 5 s.

import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { notice } from '../components/errors.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { loading, showError, startView } from '../page.js';
import { every } from '../router.js';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'];
const PURPOSE = {
  sync: 'repository syncs (fetch, validate, activate)',
  status: 'commit statuses reported to GitHub',
  reconcile: 'periodic check of every linked branch',
};

export async function queuesView({ signal }) {
  const body = startView({ title: 'Queues' });
  const content = h('div');
  const refreshed = h('p', { class: 'muted refreshed' });
  body.append(content, refreshed);
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
