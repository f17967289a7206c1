import type { Result } from '../context.js';
import type { UpstreamResponse } from '../../upstream/client.js';

/**
 * Upstream headers that reach the caller besides Content-Type. Nothing that could set state in the
 * widget's origin (Set-Cookie) or describe the upstream's transport passes; `Location` must, since
 * redirects are handed back rather than followed (decision 25).
 */
const PASS = ['location', 'retry-after', 'content-language', 'www-authenticate'];

/** Stage 14: the headers of the answer (timing, cache and request id are added by the route). */
export function responseHeaders(result: Result, res: UpstreamResponse | undefined): Result {
  if (res !== undefined) {
    for (const name of PASS) {
      const v = res.headers[name];
      if (v !== undefined) result.headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
  }
  return result;
}
