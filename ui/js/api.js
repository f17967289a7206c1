// The one door to /admin/v1. Sends the bearer token, turns the admin error envelope
// ({"error": {code, message, line?, column?, details?}}) into ApiError, and reports a rejected
// token (401/403) to whoever listens, so the app can return to the login screen.

import { clearToken, getToken } from './session.js';

const BASE = '/admin/v1';

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = extra.details;
    this.line = extra.line;
    this.column = extra.column;
  }
}

const authListeners = new Set();
/** `fn(error)` runs when the server rejects the token. */
export function onAuthFailure(fn) {
  authListeners.add(fn);
}

/**
 * api('GET', '/tenants') → {status, data, headers}
 * options: json (a value sent as JSON), text (raw JSON text, e.g. Code Mode), signal,
 * token (use this token instead of the session's: login), quietAuth (do not broadcast 401/403).
 */
export async function api(method, path, options = {}) {
  const token = options.token ?? getToken();
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (options.text !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.text;
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let res;
  try {
    res = await fetch(BASE + path, { method, headers, body, signal: options.signal, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Is Gatehouse running?');
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text !== '') {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (res.ok) return { status: res.status, data, headers: res.headers };

  const e = data && typeof data === 'object' && data.error ? data.error : {};
  const error = new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `the server answered ${res.status}`, e);
  if ((res.status === 401 || res.status === 403) && !options.quietAuth) {
    clearToken();
    for (const fn of authListeners) fn(error);
  }
  throw error;
}

/** Path segment encoding for ids, names and permalinks. */
export const seg = (value) => encodeURIComponent(value);

/** A repository link's admin path: links are addressed as {owner}/{repo}. */
export function repositoryPath(tenant, repository) {
  const [owner, repo] = repository.split('/');
  return `/tenants/${seg(tenant)}/repositories/${seg(owner)}/${seg(repo)}`;
}
