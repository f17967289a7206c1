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
 * Without a cached token to retry with, the call is the one request's promise, not another around it.
 */
export function callUpstream(u: UpstreamCall, conditional?: Record<string, string>): Promise<UpstreamResponse> {
  const { call } = u;
  call.timing.externalHost = u.authorized.url.host;
  const sent = send(u, u.authorized, conditional);
  const applied = u.authorized.applied;
  if (applied?.token?.fromCache !== true) return sent;
  return sent.then(async (res) => {
    if (res.status !== 401) return res;
    const fresh = await call.deps.auth.refresh(call.tenantId, u.authorized.resolved, applied, call.now, u.outbound);
    return fresh === undefined ? res : send(u, authorize(call.deps.upstream, u.rendered, u.values, u.authorized.resolved, fresh), conditional);
  });
}

/** One request: its time counted as `http`, its client span ended, a failure recorded on the timing. */
function send(u: UpstreamCall, request: AuthorizedRequest, conditional: Record<string, string> | undefined): Promise<UpstreamResponse> {
  const timing = u.call.timing;
  const t0 = performance.now();
  const headers = headerObject(request, u.body, conditional);
  const span = u.outbound?.start('upstream', u.method, request.url);
  // A traceparent the connector configures itself is sent as configured.
  if (span !== undefined && headers.traceparent === undefined) Object.assign(headers, span.headers);
  return u.call.deps.upstream.send({ url: request.url, method: u.method, headers, body: u.body.body }).then(
    (res) => {
      span?.end({ status: res.status });
      timing.add('http', performance.now() - t0);
      return res;
    },
    (err: unknown) => {
      span?.end({ error: err });
      if (err instanceof UpstreamError) {
        if (err.timeout) timing.timeout = true;
        timing.error = err.message;
      }
      timing.add('http', performance.now() - t0);
      throw err;
    },
  );
}
