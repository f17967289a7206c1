import type { CompiledConnector, CompiledParam, CompiledRequest, CompiledStep } from '../../registry/compile.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { CallerRequest, IgnoredOverride } from '../context.js';

/**
 * Stage `merge` (docs/design.md#caller-input-is-data, docs/design.md#merge-rules, docs/design.md#request-bodies): which value each query parameter and header will carry. A declared
 * overridable entry takes the caller's value when given, else its configured template; a declared
 * non-overridable entry always uses its template (the caller's value is dropped and reported in
 * `ignored_overrides`); undeclared caller query parameters are forwarded; undeclared caller headers
 * never are. Caller values stay literal data — they are never rendered.
 */
export type Planned = { key: string; literal: string } | { key: string; param: CompiledParam };

export interface MergePlan {
  query: Planned[];
  headers: Planned[];
  /** Declared non-overridable entries the caller tried to set (Test Connection's `ignored_overrides`). */
  ignored: IgnoredOverride[];
}

const NO_CALLER_HEADERS: IncomingHttpHeaders = Object.freeze({});
const NO_CALLER_QUERY: readonly [string, string][] = [];

/** Stage `merge` of a simple connector; a composite's steps have theirs fixed (`stepParams`). */
export function mergeParams(input: { connector: CompiledConnector; caller: CallerRequest }): MergePlan | undefined {
  const c = input.connector;
  return c.kind === 'composite' ? undefined : planParams(c, input.caller.query, input.caller.headers);
}

const stepPlans = new WeakMap<CompiledStep, MergePlan>();

/**
 * Composite steps have no caller overrides (the caller's query is visible only as
 * `request.query_parameters`), so a step's plan is the same for every call: made once per step.
 */
export function stepParams(step: CompiledStep): MergePlan {
  let plan = stepPlans.get(step);
  if (plan === undefined) {
    plan = planParams(step, NO_CALLER_QUERY, NO_CALLER_HEADERS);
    stepPlans.set(step, plan);
  }
  return plan;
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
