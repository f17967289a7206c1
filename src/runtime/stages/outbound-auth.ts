import type { ExecContext, OutgoingRequest } from '../context.js';
import { RuntimeError } from '../errors.js';
import { BlockedDestinationError } from '../../upstream/guard.js';
import { joinUrl } from './render.js';

/**
 * Stage 9: applies the rendered authentication. Auth headers replace configured headers of the same
 * name; an API key in the query replaces any value of that name (docs/design.md#request-bodies). Token requests are
 * upstream time (`external_ms`).
 */
export async function applyAuth(ctx: ExecContext, out: OutgoingRequest, scope?: (s: string) => string): Promise<void> {
  const auth = out.resolvedAuth!;
  if (auth.type === 'none') return;
  const run = () => ctx.deps.auth.apply(ctx.tenantId, auth, ctx.now);
  try {
    // A token request is upstream time (external_ms); signing a JWT is not.
    attach(out, auth.type === 'oauth_client_credentials' || auth.type === 'oauth_jwt_bearer' ? await ctx.timing.measure('http', run) : await run());
  } catch (err) {
    throw mapAuthError(err, scope);
  }
}

export function attach(out: OutgoingRequest, applied: NonNullable<OutgoingRequest['appliedAuth']>): void {
  const previous = out.appliedAuth;
  if (previous !== undefined) {
    const names = new Set(previous.headers.map(([k]) => k.toLowerCase()));
    out.headers = out.headers.filter(([k]) => !names.has(k.toLowerCase()));
  }
  out.appliedAuth = applied;
  if (applied.headers.length > 0) {
    const names = new Set(applied.headers.map(([k]) => k.toLowerCase()));
    out.headers = [...out.headers.filter(([k]) => !names.has(k.toLowerCase())), ...applied.headers];
    for (const [, v] of applied.headers) out.sensitive.push(v);
  }
  if (applied.query.length > 0) {
    const names = new Set(applied.query.map(([k]) => k));
    out.query = [...out.query.filter(([k]) => !names.has(k)), ...applied.query];
    for (const [, v] of applied.query) out.sensitive.push(v);
    out.url = new URL(joinUrl(out.baseUrl, out.query));
  }
  out.credentialMaterial.push(`auth:${applied.credentialDigest}`);
  if (out.debug !== undefined) forgetReplaced(out, out.debug, applied);
}

/**
 * Test Connection's view shows the credential only under `authentication` (masked); a caller or
 * configured value that the credential replaced was never sent, so it must not be shown either.
 */
function forgetReplaced(out: OutgoingRequest, debug: NonNullable<OutgoingRequest['debug']>, applied: NonNullable<OutgoingRequest['appliedAuth']>): void {
  if (applied.headers.length > 0) {
    const names = new Set(applied.headers.map(([k]) => k.toLowerCase()));
    for (const k of Object.keys(debug.headers)) if (names.has(k.toLowerCase())) delete debug.headers[k];
  }
  if (applied.query.length > 0) {
    const names = new Set(applied.query.map(([k]) => k));
    for (const k of names) delete debug.query_parameters[k];
    const shown = out.query.filter(([k]) => !names.has(k)).map(([k, v]): [string, string] => [k, debug.query_parameters[k] ?? v]);
    debug.url = joinUrl(out.baseUrl, shown);
  }
}

export function mapAuthError(err: unknown, scope?: (s: string) => string): unknown {
  if (err instanceof BlockedDestinationError) return new RuntimeError(422, 'BLOCKED_DESTINATION', err.message);
  if (err instanceof RuntimeError && scope !== undefined && err.scope !== undefined) err.scope = scope(err.scope);
  return err;
}
