import { BadRequestError } from '../errors.js';

/**
 * A Git link's URL: https (http only with UPSTREAM_ALLOW_HTTP, like upstreams), no credentials
 * (they belong in a tenant secret named by `token_secret`), no query or fragment. The URL as
 * given is what records and connectors show; `matchKey` is how a webhook payload's clone URL is
 * recognised (host case-insensitive, a trailing `.git` or `/` optional).
 */

export const GIT_URL_MAX = 2048;

export function checkGitUrl(raw: unknown, allowHttp: boolean): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > GIT_URL_MAX) {
    throw new BadRequestError('INVALID_URL', `url must be a non-empty https URL of at most ${GIT_URL_MAX} characters, e.g. https://gitlab.example.com/group/repo.git`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError('INVALID_URL', `"${shown(raw)}" is not a URL: use the repository's HTTPS clone URL, e.g. https://gitlab.example.com/group/repo.git`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new BadRequestError('INVALID_URL', 'the url must not carry credentials: store the password or token as a tenant secret and name it in token_secret (and the user in username)');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowHttp)) {
    throw new BadRequestError('INVALID_URL', `scheme "${url.protocol}" is not supported: Gatehouse reads Git over HTTPS (smart HTTP)${url.protocol === 'http:' ? '; plain http needs UPSTREAM_ALLOW_HTTP=true' : ''}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new BadRequestError('INVALID_URL', 'the url must not have a query or fragment: use the plain clone URL');
  }
  if (url.pathname === '/' || url.pathname === '') {
    throw new BadRequestError('INVALID_URL', `"${shown(raw)}" names no repository: add its path, e.g. /group/repo.git`);
  }
  return url.href;
}

/** How webhook payload URLs are matched to links: `https://Host/g/r.git/` → `host/g/r`. */
export function matchKey(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  return `${url.host.toLowerCase()}${path}`;
}

/** The URL for messages and records: credentials (should a caller slip them in) removed. */
export function withoutCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return shown(raw);
  }
}

function shown(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//').slice(0, 200);
}
