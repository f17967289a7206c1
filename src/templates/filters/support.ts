import { EvalError } from '../errors.js';
import { bind } from '../args.js';
import { getitem } from '../lookup.js';
import type { State } from '../state.js';
import { isInt } from '../numbers.js';
import { eq, lt, str } from '../protocols.js';
import { asString, Undefined, type CallArgs } from '../values.js';

/** A filter: `value | name(*args, **kwargs)`. */
export type FilterFn = (s: State, value: unknown, args: unknown[], kwargs: Map<string, unknown>) => unknown;

/** Binds Python-style parameters; `[name]` is required, `[name, default]` optional. */
export function params(fname: string, args: unknown[], kwargs: Map<string, unknown>, spec: [string, unknown?][]): unknown[] {
  const n = spec.length;
  if (kwargs.size === 0 && args.length <= n) {
    // positional arguments only (`round(2)`, `join(',')`): the defaults fill the rest
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      if (i < args.length) out[i] = args[i];
      else if (spec[i]!.length > 1) out[i] = spec[i]![1];
      else return bind(fname, { args, kwargs }, spec); // a required one is missing: bind reports it
    }
    return out;
  }
  const call: CallArgs = { args, kwargs };
  return bind(fname, call, spec);
}

/** Jinja2's `_prepare_attribute_parts`: "a.b.0" → ['a', 'b', 0]. */
function attributeParts(attribute: unknown): unknown[] {
  if (attribute === null || attribute === undefined) return [];
  const s = asString(attribute);
  if (s !== undefined) return s.split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  return [attribute];
}

function ignoreCase(v: unknown): unknown {
  return typeof v === 'string' ? v.toLowerCase() : v;
}

/** Jinja2's make_attrgetter (item lookup per dotted part, optional lower-casing and default). */
export function makeAttrGetter(attribute: unknown, opts: { ignoreCase?: boolean; default?: unknown } = {}): (item: unknown) => unknown {
  const parts = attributeParts(attribute);
  const dflt = opts.default;
  return (item) => {
    for (const p of parts) {
      item = getitem(item, p);
      if (dflt !== undefined && dflt !== null && item instanceof Undefined) item = dflt;
    }
    return opts.ignoreCase ? ignoreCase(item) : item;
  };
}

/** Jinja2's make_multi_attrgetter ("a,b" → [item.a, item.b]). */
export function makeMultiAttrGetter(attribute: unknown, opts: { ignoreCase?: boolean } = {}): (item: unknown) => unknown[] {
  const split = typeof attribute === 'string' ? attribute.split(',') : [attribute];
  const getters = split.map((a) => attributeParts(a));
  return (item) =>
    getters.map((parts) => {
      let v = item;
      for (const p of parts) v = getitem(v, p);
      return opts.ignoreCase ? ignoreCase(v) : v;
    });
}

/** A total order built on Python's `<`, for stable sorts. */
export function pyCompare(a: unknown, b: unknown): number {
  if (lt(a, b)) return -1;
  if (lt(b, a)) return 1;
  return 0;
}

export function keyCompare(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!eq(a[i], b[i])) return pyCompare(a[i], b[i]);
    }
    return a.length - b.length;
  }
  return pyCompare(a, b);
}

export function intArg(fname: string, v: unknown, what: string): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!isInt(v)) throw new EvalError(`${fname}: ${what} must be an integer, not ${str(v)}`);
  return Number(v);
}
