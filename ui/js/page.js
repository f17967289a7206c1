// The frame every view renders into: <main>'s heading (focused on navigation, so keyboard and
// screen-reader users land on the new content), the document title, and the flash message area.

import { h, replaceChildren } from './dom.js';
import { errorBox } from './components/errors.js';

const main = () => document.getElementById('main');

/**
 * Starts a view: heading, optional subtitle/actions, and a body container the view fills.
 * Returns the body element.
 */
export function startView({ title, crumbs = [], actions = [] }) {
  document.title = `${title} · Gatehouse`;
  const heading = h('h1', { tabindex: -1 }, title);
  const body = h('div', { class: 'view-body' });
  replaceChildren(
    main(),
    crumbs.length > 0
      ? h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('ol', {}, crumbs.map((c) => h('li', {}, c.href ? h('a', { href: c.href }, c.label) : c.label))))
      : null,
    h('div', { class: 'view-head' }, heading, actions.length > 0 ? h('div', { class: 'actions' }, actions) : null),
    body,
  );
  heading.focus({ preventScroll: true });
  return body;
}

export function loading(el, text = 'Loading…') {
  replaceChildren(el, h('p', { class: 'loading', 'aria-busy': 'true' }, text));
}

/** Shows an error in `el` (an ApiError or any Error). Aborted loads are ignored. */
export function showError(el, error, title) {
  if (error?.name === 'AbortError') return;
  replaceChildren(el, errorBox(error, { title }));
}

let sticky = 0;

/** A status message above the view; `navigating: true` keeps it across the navigation that follows. */
export function flash(message, kind = 'success', { navigating = false } = {}) {
  const area = document.getElementById('flash');
  sticky = navigating ? 1 : 0;
  replaceChildren(
    area,
    h(
      'div',
      { class: ['alert', `alert-${kind}`, 'flash-message'] },
      h('span', {}, message),
      h('button', { type: 'button', class: 'link-button', 'aria-label': 'Dismiss message', onclick: () => replaceChildren(area) }, '×'),
    ),
  );
}

/** Called on every navigation: drops the flash message unless it was meant for this view. */
export function clearFlashOnNavigate() {
  if (sticky > 0) {
    sticky -= 1;
    return;
  }
  replaceChildren(document.getElementById('flash'));
}

export function clearFlash() {
  sticky = 0;
  replaceChildren(document.getElementById('flash'));
}
