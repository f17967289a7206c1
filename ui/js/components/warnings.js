// Warnings (docs/sync.md#warnings): problems that never block a save, a sync or a test, each with
// its JSON pointer and 1-based position, shown the same way on sync records, in the connector
// editor and in Test Connection results.

import { h } from '../dom.js';
import { table } from './table.js';

/** A table of warnings under a heading, or null when there are none. */
export function warningsSection(warnings, { heading = 'h3', caption } = {}) {
  if (!Array.isArray(warnings) || warnings.length === 0) return null;
  return h(
    'section',
    { class: 'warnings', 'aria-label': 'Warnings' },
    h(heading, {}, `Warnings (${warnings.length})`),
    table(
      [
        { label: 'Path', cell: (w) => (w.path ? h('code', { class: 'break' }, w.path) : h('span', { class: 'muted' }, '—')) },
        { label: 'Line', cell: (w) => (w.line > 0 ? String(w.line) : '—'), class: 'num' },
        { label: 'Column', cell: (w) => (w.column > 0 ? String(w.column) : '—'), class: 'num' },
        { label: 'Message', cell: (w) => w.message, class: 'break' },
      ],
      warnings,
      { caption },
    ),
  );
}

/** One line for a flash message: "2 warnings: line 3:20 …; line 9:5 …". */
export function warningsSummary(warnings) {
  if (!Array.isArray(warnings) || warnings.length === 0) return '';
  const at = (w) => (w.line > 0 ? `line ${w.line}:${w.column} ` : '');
  return ` ${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings.map((w) => `${at(w)}${w.message}`).join('; ')}`;
}
