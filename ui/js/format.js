// Display formats. Times are shown in the operator's local time zone, named after the time ("UTC",
// "GMT+1"), with the ISO value as a tooltip.

import { h } from './dom.js';

const pad = (n) => String(n).padStart(2, '0');

export function dateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneName(d)}`;
}

const zoneFormat = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' });

/** The local time zone's short name at that date (summer time included), e.g. "UTC", "CET", "GMT+2". */
export function zoneName(d) {
  return zoneFormat.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** <time> with local time, relative age and the exact ISO value on hover. */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { dateTime: iso, title: iso }, dateTime(iso));
}

export function shortSha(sha) {
  return sha ? String(sha).slice(0, 7) : '—';
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}
