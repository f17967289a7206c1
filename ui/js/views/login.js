// Sign in with the operator token (GATEHOUSE_ADMIN_TOKEN). The token is checked against the API
// before it is kept, so a typo is reported here rather than on the next page.

import { api } from '../api.js';
import { field, h } from '../dom.js';
import { errorBox } from '../components/errors.js';
import { clearFlash, startView } from '../page.js';
import { navigate, parseHash } from '../router.js';
import { setToken } from '../session.js';

let pendingMessage = null;
let returnTo = null;

/** A message for the next login screen (why the operator has to sign in again). */
export function setLoginMessage(message) {
  pendingMessage = message;
}

/** Remembers the page that needed a login (null forgets it). */
export function setReturnTo(path, query) {
  if (path === null || path === '/login') {
    returnTo = null;
    return;
  }
  const q = query?.toString() ?? '';
  returnTo = `${path}${q ? `?${q}` : ''}`;
}

function takeReturnTo() {
  const target = returnTo ?? '/tenants';
  returnTo = null;
  return target;
}

export function loginView() {
  const body = startView({ title: 'Sign in' });
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: false, class: 'wide' });
  const status = h('div', { class: 'login-status' });
  if (pendingMessage) {
    status.append(h('div', { class: 'alert alert-warning', role: 'alert' }, pendingMessage));
    pendingMessage = null;
  }
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card login', novalidate: true },
    status,
    field('Admin token', input, 'GATEHOUSE_ADMIN_TOKEN — in embedded mode the contents of .gatehouse/admin.token. It is kept in this browser tab only (sessionStorage) and sent as a bearer token; closing the tab or “Log out” forgets it.'),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    status.replaceChildren();
    if (token === '') {
      status.append(h('div', { class: 'alert alert-error', role: 'alert' }, 'Paste the admin token first.'));
      input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('GET', '/tenants', { token, quietAuth: true });
      setToken(token);
      clearFlash();
      const [path, search] = takeReturnTo().split('?');
      navigate(path, Object.fromEntries(new URLSearchParams(search ?? '')));
    } catch (error) {
      const title = error.status === 403 ? 'Wrong token' : error.status === 401 ? 'Token missing or malformed' : 'Could not sign in';
      status.append(errorBox(error, { title }));
      input.select();
      input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  body.append(form);
  if (parseHash().path === '/login') input.focus();
}
