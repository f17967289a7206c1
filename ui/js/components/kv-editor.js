// Rows of key/value inputs (query parameters, path parameters, headers) for Test Connection.

import { h, uid } from '../dom.js';

export function kvEditor({ legend, keyLabel = 'Name', valueLabel = 'Value', initial = [] }) {
  const rows = h('div', { class: 'kv-rows' });
  const fieldset = h('fieldset', { class: 'kv' }, h('legend', {}, legend), rows);

  function addRow(key = '', value = '', focus = false) {
    const k = h('input', { type: 'text', id: uid('k'), value: key, spellcheck: false, autocomplete: 'off', 'aria-label': `${legend}: ${keyLabel}` });
    const v = h('input', { type: 'text', id: uid('v'), value, spellcheck: false, autocomplete: 'off', 'aria-label': `${legend}: ${valueLabel}` });
    const row = h('div', { class: 'kv-row' }, k, v);
    const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove this ${legend.toLowerCase()} row`, onclick: () => {
      row.remove();
      addButton.focus();
    } }, 'Remove');
    row.append(remove);
    rows.append(row);
    if (focus) k.focus();
  }

  const addButton = h('button', { type: 'button', class: 'secondary small', onclick: () => addRow('', '', true) }, `Add ${keyLabel.toLowerCase()}`);
  fieldset.append(addButton);
  for (const [k, v] of initial) addRow(k, v);

  return {
    element: fieldset,
    /**
     * Rows with a key and a value, as an object (a later row wins on a repeated key). A row left
     * empty is not sent: an empty path parameter is refused by the server, while an absent one
     * takes its default.
     */
    value() {
      const out = {};
      for (const row of rows.querySelectorAll('.kv-row')) {
        const [k, v] = row.querySelectorAll('input');
        if (k.value.trim() !== '' && v.value !== '') out[k.value.trim()] = v.value;
      }
      return out;
    },
    /** Adds a row for each [key, value] whose key has none yet (keeps what was typed). */
    ensureKeys(entries) {
      const present = new Set([...rows.querySelectorAll('.kv-row')].map((row) => row.querySelector('input').value.trim()));
      for (const [k, v] of entries) if (!present.has(k)) addRow(k, v);
    },
    set(entries) {
      rows.replaceChildren();
      for (const [k, v] of entries) addRow(k, v);
    },
  };
}
