import type { Dispatcher } from 'undici';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { describeNetworkError } from '../upstream/client.js';
import { BlockedDestinationError } from '../upstream/guard.js';
import { GitSourceError } from './errors.js';

/**
 * isomorphic-git's HTTP client, over the same guarded undici dispatcher as upstream calls: every
 * connection passes the address policy (UPSTREAM_ALLOW_CIDRS), so a Git link cannot reach the
 * internal network. Plain http needs UPSTREAM_ALLOW_HTTP, as for upstreams. Redirects are not
 * followed (a redirect could lead anywhere; the link should name the final URL), responses are
 * capped, and every failure becomes a GitSourceError of its own kind.
 */

export interface GitHttpOptions {
  dispatcher: Dispatcher;
  allowHttp: boolean;
  timeoutMs: number;
  /** Cap on one response body (a shallow pack of one commit's tree). */
  maxResponseBytes: number;
}

export function createGitHttpClient(options: GitHttpOptions, describe: string): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const url = new URL(req.url);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
        throw new GitSourceError('blocked', `${describe}: ${url.protocol} is not allowed (Gatehouse reads Git over https; plain http needs UPSTREAM_ALLOW_HTTP=true)`);
      }
      const body = req.body === undefined ? null : await collect(req.body);
      const signal = AbortSignal.timeout(options.timeoutMs);
      let res: Dispatcher.ResponseData;
      try {
        res = await options.dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: { 'user-agent': 'git/isomorphic-git gatehouse', ...(req.headers ?? {}) },
          body,
          signal,
        });
      } catch (err) {
        throw networkError(err, describe, signal.aborted, options.timeoutMs);
      }
      if (res.statusCode >= 300 && res.statusCode < 400) {
        res.body.destroy();
        const location = typeof res.headers.location === 'string' ? res.headers.location : '';
        throw new GitSourceError('redirected', `${describe}: the server redirected (${res.statusCode}) ${location === '' ? '' : `to ${stripCredentials(location, url)} `}— link the repository by its final clone URL`);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      return {
        url: req.url,
        method: req.method ?? 'GET',
        statusCode: res.statusCode,
        statusMessage: '',
        headers,
        body: capped(res.body, options.maxResponseBytes, describe, signal, options.timeoutMs),
      };
    },
  };
}

async function collect(body: AsyncIterableIterator<Uint8Array> | Uint8Array[]): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* capped(stream: AsyncIterable<Uint8Array> & { destroy(): void }, max: number, describe: string, signal: AbortSignal, timeoutMs: number): AsyncIterableIterator<Uint8Array> {
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        throw new GitSourceError('too-large', `${describe}: the server sent more than ${Math.round(max / 1024 / 1024)} MiB for one commit (the registry is read with a shallow fetch of one commit; keep large files out of that repository, or link a smaller one)`);
      }
      yield chunk;
    }
  } catch (err) {
    if (err instanceof GitSourceError) throw err;
    throw networkError(err, describe, signal.aborted, timeoutMs);
  }
}

export function networkError(err: unknown, describe: string, timedOut: boolean, timeoutMs: number): GitSourceError {
  if (err instanceof GitSourceError) return err;
  const e = err as NodeJS.ErrnoException & { cause?: unknown };
  const blocked = err instanceof BlockedDestinationError ? err : e.cause instanceof BlockedDestinationError ? e.cause : undefined;
  if (blocked !== undefined) {
    return new GitSourceError('blocked', `${describe}: ${blocked.message.replace('the upstream', 'the Git host')}`);
  }
  if (timedOut || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT' || e.name === 'TimeoutError') {
    return new GitSourceError('unreachable', `${describe}: the Git host did not answer within ${timeoutMs} ms`);
  }
  const cause = (e.code === undefined && e.cause !== undefined ? e.cause : e) as NodeJS.ErrnoException;
  if (isTlsFailure(cause.code)) {
    return new GitSourceError('tls', `${describe}: TLS handshake failed (${cause.code}): the Git host's certificate is not trusted or not valid for its name (add a private CA with UPSTREAM_CA_FILE)`);
  }
  const description = describeNetworkError(cause);
  return new GitSourceError('unreachable', `${describe}: the Git host is unreachable (${description})`);
}

/** OpenSSL's verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, …) and Node's TLS errors. */
function isTlsFailure(code: string | undefined): boolean {
  return code !== undefined && (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code.startsWith('UNABLE_TO_') || code.includes('SELF_SIGNED') || code === 'EPROTO');
}

function stripCredentials(location: string, base: URL): string {
  try {
    const u = new URL(location, base);
    u.username = '';
    u.password = '';
    return u.href.slice(0, 300);
  } catch {
    return '';
  }
}
