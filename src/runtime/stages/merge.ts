import type { CompiledParam, CompiledRequest } from '../../registry/compile.js';
import type { ExecContext, IgnoredOverride } from '../context.js';

/**
 * Stage 3 (docs/design.md#caller-input-is-data, docs/design.md#merge-rules, docs/design.md#request-bodies): which value each query parameter and header will carry. A declared
 * overridable entry takes the caller's value when given, else its configured template; a declared
 * non-overridable entry always uses its template (the caller's value is dropped and reported in
 * `ignored_overrides`); undeclared caller query parameters are forwarded; undeclared caller headers
 * never are. Caller values stay literal data — they are never rendered.
 */
export type Planned = { key: string; literal: string } | { key: string; param: CompiledParam };

export interface MergePlan {
  query: Planned[];
  headers: Planned[];
}

export function mergeParams(ctx: ExecContext, spec: CompiledRequest, callerQuery: [string, string][], callerHeaders: ExecContext['caller']['headers']): MergePlan {
  const ignored: IgnoredOverride[] = ctx.ignored;
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
  return { query, headers };
}
