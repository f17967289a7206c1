// The operator token lives in sessionStorage only: one browser tab, gone when the tab closes, and
// never a cookie (the API reads a bearer header, so there is no ambient credential to forge: no CSRF).

const KEY = 'gatehouse.adminToken';

export function getToken() {
  return sessionStorage.getItem(KEY);
}

export function setToken(token) {
  sessionStorage.setItem(KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}
