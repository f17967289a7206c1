import type { Fetched, Result } from '../context.js';
import type { UpstreamResponse } from '../../upstream/client.js';

/**
 * Upstream headers that reach the caller besides Content-Type. Nothing that could set state in the
 * widget's origin (Set-Cookie) or describe the upstream's transport passes; `Location` must, since
 * redirects are handed back rather than followed (docs/design.md#address-guard).
 */
const PASS = ['location', 'retry-after', 'content-language', 'www-authenticate'];

const PASSED: ReadonlySet<string> = new Set(PASS);

/** Stage `response-headers`: the headers of the answer (timing, cache, CORS and request id are added by execute). */
export function responseHeaders(input: { result: Result; fetched: Fetched }): Result {
  const result = input.result;
  const res = input.fetched.response;
  if (!passesAny(res.headers)) return result;
  const headers = { ...result.headers };
  for (const name of PASS) {
    const v = res.headers[name];
    if (v !== undefined) headers[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { status: result.status, headers, body: result.body };
}

/**
 * Usually none of PASS is there; looking up absent names one by one on objects of many shapes goes
 * to V8's slow path each time (a visible cost per cache hit), walking the few present names does not.
 */
function passesAny(headers: UpstreamResponse['headers']): boolean {
  for (const name in headers) if (PASSED.has(name)) return true;
  return false;
}
