import type { CompiledConnector } from '../../registry/compile.js';
import type { Call, IgnoredOverride } from '../context.js';
import { RuntimeError } from '../errors.js';

const VALID = /^[A-Za-z0-9._~-]{1,200}$/;

/** docs/design.md#path-parameters: unreserved characters only, 1–200 long, no `.`/`..` and nothing containing `..`. */
export function validPathValue(v: string): boolean {
  return VALID.test(v) && !v.includes('..') && v !== '.';
}

/** No path parameters given (most calls): one shared, never written map. */
export const NO_PATH_PARAMS_GIVEN: ReadonlyMap<string, string> = new Map();

/** `X-Path-Params: a=1&b=x` (urlencoded). */
export function parsePathParamsHeader(header: string | string[] | undefined): ReadonlyMap<string, string> {
  const text = Array.isArray(header) ? header.join('&') : header;
  if (text === undefined || text === '') return NO_PATH_PARAMS_GIVEN;
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) if (!out.has(k)) out.set(k, v);
  return out;
}

/**
 * Stage `path-params`: values for every `pathParams.X` the URL uses. Row semantics (docs/design.md#path-parameters): no value =
 * the caller must supply it; a value = default; `overridable: false` with a value = pinned (a caller
 * value is ignored and reported). Missing beats invalid: only when nothing is missing are values
 * checked. Accepted values are percent-encoded before they reach the URL template.
 */
export interface PathParams {
  /** Percent-encoded values, as `pathParams.X` in the URL template. */
  values: Record<string, string>;
  /** Pinned rows the caller tried to set. */
  ignored: IgnoredOverride[];
  /** Why the call cannot go on (missing or invalid values); kept as data so the ignored overrides are still reported. */
  rejected: RuntimeError | undefined;
}

const NO_PATH_PARAMS: PathParams = Object.freeze({ values: Object.freeze({}) as Record<string, string>, ignored: [] as IgnoredOverride[], rejected: undefined });

export function resolvePathParams(input: Pick<Call, 'caller'> & { connector: CompiledConnector }): PathParams {
  const c = input.connector;
  // Composite steps have no path parameters.
  if (c.kind === 'composite' || (c.pathParamsReferenced.length === 0 && c.pathParamsUndeclared.length === 0)) return NO_PATH_PARAMS;
  const ignored: IgnoredOverride[] = [];
  if (c.pathParamsUndeclared.length > 0) {
    throw new RuntimeError(400, 'CONNECTOR_MISCONFIGURED', `the URL uses path parameters that are not declared in path_parameters: ${c.pathParamsUndeclared.join(', ')}`);
  }
  const given = input.caller.pathParams;
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of c.pathParamsReferenced) {
    const row = c.pathParamRows.get(key)!;
    const supplied = given.get(key);
    if (row.value !== undefined && !row.overridable) {
      if (supplied !== undefined) ignored.push({ in: 'path', key });
      values[key] = row.value;
    } else if (supplied !== undefined) values[key] = supplied;
    else if (row.value !== undefined) values[key] = row.value;
    else missing.push(key);
  }
  if (missing.length > 0) {
    return { values, ignored, rejected: new RuntimeError(400, 'MISSING_PATH_PARAMETERS', `missing path parameters: ${missing.join(', ')}`, undefined, missing) };
  }
  const invalid = Object.keys(values).filter((k) => !validPathValue(values[k]!));
  if (invalid.length > 0) {
    const detail = `invalid path parameters: ${invalid.join(', ')} (allowed: 1–200 of A–Z a–z 0–9 . _ ~ -, no "..")`;
    return { values, ignored, rejected: new RuntimeError(400, 'INVALID_PATH_PARAMETERS', detail, undefined, invalid) };
  }
  for (const k of Object.keys(values)) values[k] = encodeURIComponent(values[k]!);
  return { values, ignored, rejected: undefined };
}

/** Stage `path-params-check`: a call without every path parameter, or with an invalid one, stops here. */
export function checkPathParams(input: { pathParams: PathParams }): void {
  if (input.pathParams.rejected !== undefined) throw input.pathParams.rejected;
}
