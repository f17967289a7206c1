import type { UpstreamResponse } from '../upstream/client.js';
import { UpstreamError } from '../upstream/client.js';
import type { AuthorizedRequest, Call, OutgoingBody, RenderedRequest, TemplateValues } from './context.js';
import { authorize, headerObject } from './outgoing.js';

/** What one upstream call needs; the `upstream` stage calls it directly or through the cache. */
export interface UpstreamCall {
  call: Pick<Call, 'deps' | 'tenantId' | 'now' | 'timing'>;
  method: string;
  rendered: RenderedRequest;
  values: TemplateValues;
  authorized: AuthorizedRequest;
  body: OutgoingBody;
}

/**
 * The upstream call through the guarded client. An upstream 401 answered to a cached OAuth token
 * evicts that token and retries once with a new one (docs/design.md#oauth-client-credentials).
 */
export async function callUpstream(u: UpstreamCall, conditional?: Record<string, string>): Promise<UpstreamResponse> {
  const { call } = u;
  call.timing.externalHost = u.authorized.url.host;
  let res = await send(u, u.authorized, conditional);
  const applied = u.authorized.applied;
  if (res.status === 401 && applied?.token?.fromCache === true) {
    const fresh = await call.deps.auth.refresh(call.tenantId, u.authorized.resolved, applied, call.now);
    if (fresh !== undefined) res = await send(u, authorize(call.deps.upstream, u.rendered, u.values, u.authorized.resolved, fresh), conditional);
  }
  return res;
}

async function send(u: UpstreamCall, request: AuthorizedRequest, conditional: Record<string, string> | undefined): Promise<UpstreamResponse> {
  const timing = u.call.timing;
  const t0 = performance.now();
  try {
    return await u.call.deps.upstream.send({ url: request.url, method: u.method, headers: headerObject(request, u.body, conditional), body: u.body.body });
  } catch (err) {
    if (err instanceof UpstreamError) {
      if (err.timeout) timing.timeout = true;
      timing.error = err.message;
    }
    throw err;
  } finally {
    timing.add('http', performance.now() - t0);
  }
}
