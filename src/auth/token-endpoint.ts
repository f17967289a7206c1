import { tokenRequestFailed } from './errors.js';
import { UpstreamError, type UpstreamClient } from '../upstream/client.js';
import { BlockedDestinationError } from '../upstream/guard.js';
import type { OutboundTrace } from '../observability/tracing.js';

export interface TokenResponse {
  accessToken: string;
  expiresIn: number | undefined;
}

/**
 * POSTs a form to a token endpoint through the guarded upstream client (the address guard applies to
 * `token_url` too, docs/design.md#address-guard) and reads `access_token`/`expires_in`. Errors name the status and
 * the OAuth `error` code only — never the request body (it carries credentials).
 */
export async function requestToken(client: UpstreamClient, tokenUrl: string, form: Record<string, string>, outbound?: OutboundTrace): Promise<TokenResponse> {
  const url = client.parseUrl(tokenUrl, 'token_url');
  const span = outbound?.start('token', 'POST', url);
  let res;
  try {
    res = await client.send(
      {
        url,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...span?.headers },
        body: new URLSearchParams(form).toString(),
      },
      1024 * 1024,
    );
    span?.end({ status: res.status });
  } catch (err) {
    span?.end({ error: err });
    if (err instanceof BlockedDestinationError) throw err;
    if (err instanceof UpstreamError) {
      throw tokenRequestFailed(`token request to ${url.host} failed: ${err.message}`, err.timeout);
    }
    throw err;
  }
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  const obj = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (res.status < 200 || res.status >= 300) {
    const code = typeof obj.error === 'string' && /^[\w.-]{1,64}$/.test(obj.error) ? ` (${obj.error})` : '';
    throw tokenRequestFailed(`token endpoint ${url.host} answered ${res.status}${code}`);
  }
  if (typeof obj.access_token !== 'string' || obj.access_token === '') {
    throw tokenRequestFailed(`token endpoint ${url.host} answered without an access_token`);
  }
  const expiresIn = typeof obj.expires_in === 'number' ? obj.expires_in : typeof obj.expires_in === 'string' && /^\d+$/.test(obj.expires_in) ? Number(obj.expires_in) : undefined;
  return { accessToken: obj.access_token, expiresIn };
}
