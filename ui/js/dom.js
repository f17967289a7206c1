// DOM construction without HTML parsing. Every value from the server (tenant names, connector
// definitions, template text, error messages) is hostile data: it becomes a text node or a property,
// never markup. There is deliberately no way to set innerHTML through these helpers.

const FORBIDDEN_PROPS = new Set(['innerHTML', 'outerHTML', 'srcdoc']);

/**
 * h('a', {href: '#/x', class: 'link', onclick: fn, 'aria-label': 'x'}, 'text', child, [more])
 * - `class`, `for`, `aria-*`, `data-*`, `role` and names with a dash are attributes;
 * - `on<event>` adds a listener;
 * - anything else is assigned as a DOM property (value, checked, hidden, disabled, type …);
 * - children: strings and numbers become text nodes, null/undefined/false are skipped, arrays flatten.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (FORBIDDEN_PROPS.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value);
    } else if (key === 'for') {
      el.htmlFor = String(value);
    } else if (key === 'role' || key.includes('-')) {
      el.setAttribute(key, value === true ? '' : String(value));
    } else {
      el[key] = value;
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces every child of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idCounter = 0;
/** A document-unique id for label/input pairs. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form control: returns the wrapper; the control is `wrapper.control`. */
export function field(label, control, help) {
  control.id ||= uid();
  const helpEl = help ? h('p', { class: 'help', id: `${control.id}-help` }, help) : null;
  if (helpEl) control.setAttribute('aria-describedby', helpEl.id);
  const wrapper = h('div', { class: 'field' }, h('label', { for: control.id }, label), control, helpEl);
  wrapper.control = control;
  return wrapper;
}

/** <pre> of pretty-printed JSON (or the text itself when it is not JSON). */
export function jsonBlock(value, { label, wrap = false } = {}) {
  const text = typeof value === 'string' ? prettyJsonText(value) : JSON.stringify(value, null, 2);
  return h('pre', { class: wrap ? 'json wrap' : 'json', tabindex: 0, 'aria-label': label }, text);
}

export function prettyJsonText(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
