import type { Result } from '../context.js';
import type { UpstreamResponse } from '../../upstream/client.js';

/**
 * Upstream headers that reach the caller besides Content-Type. Nothing that could set state in the
 * widget's origin (Set-Cookie) or describe the upstream's transport passes; `Location` must, since
 * redirects are handed back rather than followed (docs/design.md#address-guard).
 */
const PASS = ['location', 'retry-after', 'content-language', 'www-authenticate'];

const PASSED: ReadonlySet<string> = new Set(PASS);

/** Stage 14: the headers of the answer (timing, cache and request id are added by the route). */
export function responseHeaders(result: Result, res: UpstreamResponse | undefined): Result {
  if (res !== undefined && passesAny(res.headers)) {
    for (const name of PASS) {
      const v = res.headers[name];
      if (v !== undefined) result.headers[name] = Array.isArray(v) ? v.join(', ') : v;
    }
  }
  return result;
}

/**
 * Usually none of PASS is there; looking up absent names one by one on objects of many shapes goes
 * to V8's slow path each time (a visible cost per cache hit), walking the few present names does not.
 */
function passesAny(headers: UpstreamResponse['headers']): boolean {
  for (const name in headers) if (PASSED.has(name)) return true;
  return false;
}
