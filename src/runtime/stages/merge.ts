import type { CompiledConnector, CompiledRequest } from '../../registry/compile.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Call, IgnoredOverride } from '../context.js';
import { requestPlan, type MergePlan, type Planned } from '../request-plan.js';

export type { MergePlan, Planned } from '../request-plan.js';

/**
 * Stage `merge` (docs/design.md#caller-input-is-data, docs/design.md#merge-rules, docs/design.md#request-bodies): which value each query parameter and header will carry. A declared
 * overridable entry takes the caller's value when given, else its configured template; a declared
 * non-overridable entry always uses its template (the caller's value is dropped and reported in
 * `ignored_overrides`); undeclared caller query parameters are forwarded; undeclared caller headers
 * never are. Caller values stay literal data — they are never rendered.
 *
 * A call that sets no query parameter and none of the overridable headers — most calls — gets the
 * plan's defaults, made once per connector revision. Test Connection always merges, since its
 * record lists the ignored overrides. Composite steps have no caller overrides: each runs with its plan's defaults.
 */
export function mergeParams(input: Pick<Call, 'caller' | 'test'> & { connector: CompiledConnector }): MergePlan | undefined {
  const c = input.connector;
  if (c.kind === 'composite') return undefined;
  const plan = requestPlan(c);
  const { query, headers } = input.caller;
  if (query.length === 0 && input.test === undefined && !sendsAny(headers, plan.overridableHeaders)) return plan.defaults;
  return planParams(c, query, headers);
}

function sendsAny(headers: IncomingHttpHeaders, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (headers[names[i]!] !== undefined) return true;
  return false;
}

function planParams(spec: CompiledRequest, callerQuery: readonly [string, string][], callerHeaders: IncomingHttpHeaders): MergePlan {
  const ignored: IgnoredOverride[] = [];
  const query: Planned[] = [];
  const given = new Map<string, string[]>();
  for (const [k, v] of callerQuery) {
    const list = given.get(k);
    if (list === undefined) given.set(k, [v]);
    else list.push(v);
  }
  for (const p of spec.query) {
    const values = given.get(p.key);
    if (values !== undefined && p.overridable) {
      for (const v of values) query.push({ key: p.key, literal: v });
    } else {
      if (values !== undefined) ignored.push({ in: 'query', key: p.key });
      query.push({ key: p.key, param: p });
    }
  }
  for (const [k, v] of callerQuery) {
    if (!spec.queryIndex.has(k)) query.push({ key: k, literal: v });
  }

  const headers: Planned[] = [];
  for (const h of spec.headers) {
    const raw = callerHeaders[h.lower];
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (value !== undefined && h.overridable) headers.push({ key: h.key, literal: value });
    else {
      if (value !== undefined) ignored.push({ in: 'header', key: h.key });
      headers.push({ key: h.key, param: h });
    }
  }
  return { query, headers, ignored };
}
