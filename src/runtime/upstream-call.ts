import type { OutboundTrace } from '../observability/tracing.js';
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
  /** Client spans of the upstream requests (and of a token request after a 401), when traced. */
  outbound: OutboundTrace | undefined;
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
    const fresh = await call.deps.auth.refresh(call.tenantId, u.authorized.resolved, applied, call.now, u.outbound);
    if (fresh !== undefined) res = await send(u, authorize(call.deps.upstream, u.rendered, u.values, u.authorized.resolved, fresh), conditional);
  }
  return res;
}

async function send(u: UpstreamCall, request: AuthorizedRequest, conditional: Record<string, string> | undefined): Promise<UpstreamResponse> {
  const timing = u.call.timing;
  const t0 = performance.now();
  const headers = headerObject(request, u.body, conditional);
  const span = u.outbound?.start('upstream', u.method, request.url);
  // A traceparent the connector configures itself is sent as configured.
  if (span !== undefined && headers.traceparent === undefined) Object.assign(headers, span.headers);
  try {
    const res = await u.call.deps.upstream.send({ url: request.url, method: u.method, headers, body: u.body.body });
    span?.end({ status: res.status });
    return res;
  } catch (err) {
    span?.end({ error: err });
    if (err instanceof UpstreamError) {
      if (err.timeout) timing.timeout = true;
      timing.error = err.message;
    }
    throw err;
  } finally {
    timing.add('http', performance.now() - t0);
  }
}
