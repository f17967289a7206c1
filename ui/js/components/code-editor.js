// Code Mode: a plain <textarea> with a line-number gutter. Lines with a problem are marked in the
// gutter, and a problem's position can be jumped to (caret placed, line scrolled into view).
// Positions are 1-based lines and columns in UTF-16 code units, as the API reports them.

import { h, uid } from '../dom.js';

export function codeEditor({ value = '', label, readOnly = false, rows = 22 }) {
  const id = uid('code');
  const textarea = h('textarea', {
    id,
    class: 'code',
    value,
    rows,
    readOnly,
    spellcheck: false,
    autocomplete: 'off',
    wrap: 'off',
    autocapitalize: 'off',
    'aria-describedby': `${id}-pos`,
  });
  textarea.setAttribute('autocorrect', 'off');
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const position = h('p', { class: 'caret-pos help', id: `${id}-pos` }, 'Line 1, column 1');
  let marks = new Map();

  function renderGutter() {
    const count = textarea.value.split('\n').length;
    const lines = [];
    for (let i = 1; i <= count; i++) {
      const message = marks.get(i);
      lines.push(h('div', { class: message ? 'ln ln-error' : 'ln', title: message }, String(i)));
    }
    gutter.replaceChildren(...lines);
    gutter.scrollTop = textarea.scrollTop;
  }

  function caretPosition() {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return { line, column };
  }

  function updatePosition() {
    const { line, column } = caretPosition();
    position.textContent = `Line ${line}, column ${column}${marks.has(line) ? ` — ${marks.get(line)}` : ''}`;
  }

  textarea.addEventListener('input', () => {
    renderGutter();
    updatePosition();
  });
  textarea.addEventListener('scroll', () => {
    gutter.scrollTop = textarea.scrollTop;
  });
  for (const type of ['keyup', 'click', 'select', 'focus']) textarea.addEventListener(type, updatePosition);

  const wrapper = h(
    'div',
    { class: 'code-field' },
    h('label', { for: id }, label),
    h('div', { class: ['code-editor', readOnly ? 'readonly' : null] }, gutter, textarea),
    position,
  );
  renderGutter();

  return {
    element: wrapper,
    textarea,
    get value() {
      return textarea.value;
    },
    set value(v) {
      textarea.value = v;
      renderGutter();
    },
    /** Marks problem lines: [{line, message}] (line 0 = no position). */
    mark(problems) {
      marks = new Map();
      for (const p of problems) {
        if (p.line > 0) marks.set(p.line, marks.has(p.line) ? `${marks.get(p.line)}; ${p.message}` : p.message);
      }
      renderGutter();
      updatePosition();
    },
    /** Places the caret at (line, column) and scrolls the line into view. */
    jumpTo(line, column) {
      const lines = textarea.value.split('\n');
      const l = Math.min(Math.max(line, 1), lines.length);
      let offset = 0;
      for (let i = 0; i < l - 1; i++) offset += lines[i].length + 1;
      offset += Math.min(Math.max(column - 1, 0), lines[l - 1].length);
      textarea.focus({ preventScroll: true });
      // A collapsed caret: a selection would be replaced by the operator's next keystroke.
      textarea.setSelectionRange(offset, offset);
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
      textarea.scrollTop = Math.max(0, (l - 1) * lineHeight - textarea.clientHeight / 3);
      const charWidth = lineHeight * 0.6;
      textarea.scrollLeft = Math.max(0, (column - 1) * charWidth - textarea.clientWidth / 2);
      gutter.scrollTop = textarea.scrollTop;
      wrapper.scrollIntoView({ block: 'nearest' });
      updatePosition();
    },
  };
}

/**
 * The problems of a failed save as a list of buttons that jump to their position:
 * 400 INVALID_JSON (line/column on the error) or 422 VALIDATION_FAILED (details[]).
 */
export function problemList(error, editor) {
  const problems = problemsOf(error);
  editor.mark(problems);
  if (problems.length === 0) return null;
  const items = problems.map((p) =>
    h(
      'li',
      {},
      p.line > 0
        ? h('button', { type: 'button', class: 'link-button pos', onclick: () => editor.jumpTo(p.line, p.column) }, `Line ${p.line}, column ${p.column}`)
        : h('span', { class: 'pos muted' }, 'No position'),
      ' ',
      p.path ? [h('code', { class: 'path' }, p.path), ' '] : null,
      h('span', { class: 'msg' }, p.message),
    ),
  );
  const title = error.code === 'INVALID_JSON' ? 'The JSON is malformed' : `${problems.length} problem${problems.length === 1 ? '' : 's'} found`;
  return h(
    'div',
    { class: 'alert alert-error problems', role: 'alert' },
    h('p', {}, h('strong', {}, title), ' ', h('code', { class: 'code-name' }, error.code), ' — nothing was saved.'),
    h('ol', {}, items),
  );
}

export function problemsOf(error) {
  if (error?.code === 'INVALID_JSON') {
    const message = String(error.message ?? '').replace(/^the connector is not valid JSON: /, '').replace(/ \(line \d+, column \d+\)$/, '');
    return [{ path: '', line: error.line ?? 0, column: error.column ?? 0, message }];
  }
  if (error?.code === 'VALIDATION_FAILED' && Array.isArray(error.details)) {
    return error.details.map((d) => ({ path: d.path ?? '', line: d.line ?? 0, column: d.column ?? 0, message: d.message ?? '' }));
  }
  return [];
}
