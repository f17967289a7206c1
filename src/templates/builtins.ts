import { EvalError } from './errors.js';
import { dataFilters } from './filters/data.js';
import { numberFilters } from './filters/numbers.js';
import { items, sequenceFilters } from './filters/sequences.js';
import { stringFilters } from './filters/strings.js';
import { makeAttrGetter, params, type FilterFn } from './filters/support.js';
import type { State } from './state.js';
import { VALUE_TESTS, type TestFn } from './tests.js';
import { str, truthy } from './protocols.js';
import { nullProto, PyGenerator, Undefined } from './values.js';

/**
 * Every filter and test a template can name, in one place: the families in filters/ and tests.ts,
 * plus the builtins that take another builtin by name — `map('upper')`, `select('odd')`,
 * `selectattr('x', 'gt', 1)`, `x is filter`, `x is test` — which are defined here because they read
 * these two tables.
 */

export type { FilterFn, TestFn };

// Parameter lists of the filters below (allocated once, not per call).
const P_DEFAULT: [string, unknown?][] = [['default_value', ''], ['boolean', false]];

/** do_default: Undefined (or, with boolean=true, any falsy value) is replaced. */
function defaultFilter(_s: unknown, v: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
  if (kwargs.size === 0 && args.length <= 2) {
    const dflt = args.length > 0 ? args[0] : '';
    return v instanceof Undefined || (args.length > 1 && truthy(args[1]) && !truthy(v)) ? dflt : v;
  }
  const [dflt, boolean] = params('default', args, kwargs, P_DEFAULT);
  return v instanceof Undefined || (truthy(boolean) && !truthy(v)) ? dflt : v;
}

function callFilter(s: State, name: unknown, value: unknown, args: unknown[], kwargs: Map<string, unknown>): unknown {
  const f = FILTERS[str(name)];
  if (!f) throw new EvalError(`No filter named '${str(name)}'.`);
  return f(s, value, args, kwargs);
}

function callTest(s: State, name: unknown, value: unknown, args: unknown[], kwargs: Map<string, unknown>): boolean {
  const t = TESTS[str(name)];
  if (!t) throw new EvalError(`No test named '${str(name)}'.`);
  return truthy(t(s, value, args, kwargs));
}

function isTrue(v: unknown): boolean {
  return truthy(v);
}

function selectOrReject(s: State, value: unknown, args: unknown[], kwargs: Map<string, unknown>, keep: boolean, lookupAttr: boolean, label: string): PyGenerator {
  return new PyGenerator(() => selectOrRejectItems(s, value, args, kwargs, keep, lookupAttr), label);
}

function selectOrRejectItems(s: State, value: unknown, args: unknown[], kwargs: Map<string, unknown>, keep: boolean, lookupAttr: boolean): unknown[] {
  if (!truthy(value)) return [];
  let trans: (x: unknown) => unknown = (x) => x;
  let off = 0;
  if (lookupAttr) {
    if (args.length < 1) throw new EvalError('Missing parameter for attribute name');
    trans = makeAttrGetter(args[0]);
    off = 1;
  }
  let test: (x: unknown) => boolean;
  if (args.length > off) {
    const name = args[off];
    const rest = args.slice(off + 1);
    test = (x) => callTest(s, name, x, rest, kwargs);
  } else test = isTrue;
  return items(s, value).filter((item) => test(trans(item)) === keep);
}

/** Jinja2 3.1's builtin filters plus the reference's from_json, json_encode, base64_encode, base64_decode. */
export const FILTERS: Record<string, FilterFn> = nullProto<FilterFn>({
  ...stringFilters,
  ...sequenceFilters,
  ...numberFilters,
  ...dataFilters,
  default: defaultFilter,
  d: defaultFilter,
  map: (s, v, args, kwargs) =>
    new PyGenerator(() => {
      if (!truthy(v)) return [];
      let fn: (x: unknown) => unknown;
      if (args.length === 0 && kwargs.has('attribute')) {
        const kw = new Map(kwargs);
        const attribute = kw.get('attribute');
        kw.delete('attribute');
        const dflt = kw.has('default') ? kw.get('default') : null;
        kw.delete('default');
        if (kw.size > 0) throw new EvalError(`Unexpected keyword argument '${kw.keys().next().value}'`);
        fn = makeAttrGetter(attribute, { default: dflt });
      } else {
        if (args.length === 0) throw new EvalError('map requires a filter argument');
        const name = args[0];
        const rest = args.slice(1);
        fn = (x) => callFilter(s, name, x, rest, kwargs);
      }
      return items(s, v).map(fn);
    }, 'sync_do_map'),
  select: (s, v, a, k) => selectOrReject(s, v, a, k, true, false, 'select_or_reject'),
  reject: (s, v, a, k) => selectOrReject(s, v, a, k, false, false, 'select_or_reject'),
  selectattr: (s, v, a, k) => selectOrReject(s, v, a, k, true, true, 'select_or_reject'),
  rejectattr: (s, v, a, k) => selectOrReject(s, v, a, k, false, true, 'select_or_reject'),
});

/** Jinja2 3.1's builtin tests. */
export const TESTS: Record<string, TestFn> = nullProto<TestFn>({
  ...VALUE_TESTS,
  filter: (_s, v, a, k) => (noArgs('filter', a, k), typeof v === 'string' && v in FILTERS),
  test: (_s, v, a, k) => (noArgs('test', a, k), typeof v === 'string' && v in TESTS),
});

function noArgs(name: string, args: unknown[], kwargs: Map<string, unknown>): void {
  if (args.length > 0 || kwargs.size > 0) throw new EvalError(`test_${name}() takes 1 positional argument but ${args.length + 1} were given`);
}
