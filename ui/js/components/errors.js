import { h } from '../dom.js';

/**
 * An admin API error as an alert: code, message, and the `details` list when it has one
 * (INVALID_REQUEST: [{path, message}], VALIDATION_FAILED: [{path, message, line, column}]).
 */
export function errorBox(error, { title } = {}) {
  const details = Array.isArray(error?.details) ? error.details : [];
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    // With details, the message only repeats the first of them: the list says it all.
    h('p', {}, title ? h('strong', {}, `${title}: `) : null, error?.code ? h('code', { class: 'code-name' }, error.code) : null, ' ', details.length > 0 ? summary(details.length) : error?.message ?? String(error)),
    details.length > 0
      ? h(
          'ul',
          { class: 'details' },
          details.map((d) => h('li', {}, d.path ? h('code', {}, d.path) : null, d.path ? ' ' : null, d.message ?? JSON.stringify(d))),
        )
      : null,
  );
}

function summary(n) {
  return n === 1 ? 'one problem:' : `${n} problems:`;
}

export function notice(text, kind = 'info') {
  return h('div', { class: ['alert', `alert-${kind}`] }, text);
}
