import { h } from '../dom.js';

/**
 * table([{label, cell: (row) => node|string, class?}], rows, {caption, empty})
 * Wrapped in a scroll container so wide tables never break the page at laptop width.
 */
export function table(columns, rows, { caption, empty = 'Nothing here yet.', rowClass } = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h(
        'tbody',
        {},
        rows.map((row) => h('tr', { class: rowClass?.(row) }, columns.map((c) => h('td', { class: c.class }, c.cell(row))))),
      ),
    ),
  );
}
