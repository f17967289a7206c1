import { EvalError } from '../errors.js';
import { escape, softStr } from '../escape.js';
import { LIMITS, allocate } from '../limits.js';
import { attributeOnly } from '../lookup.js';
import { add } from '../ops.js';
import type { State } from '../state.js';
import { eq, iterate, len, lt, str, truthy } from '../protocols.js';
import {
  asString, dictItems, GroupTuple, hashKey, isDict, Markup, MISSING, PyGenerator, strChars, toJsNumber, typeName,
  Undefined,
} from '../values.js';
import { keyCompare, makeAttrGetter, makeMultiAttrGetter, params, pyCompare, type FilterFn } from './support.js';

// Parameter lists of the filters below (allocated once, not per call).
const P_JOIN: [string, unknown?][] = [['d', ''], ['attribute', null]];
const P_SORT: [string, unknown?][] = [['reverse', false], ['case_sensitive', false], ['attribute', null]];
const P_DICTSORT: [string, unknown?][] = [['case_sensitive', false], ['by', 'key'], ['reverse', false]];
const P_UNIQUE: [string, unknown?][] = [['case_sensitive', false], ['attribute', null]];
const P_SUM: [string, unknown?][] = [['attribute', null], ['start', 0]];
const P_GROUPBY: [string, unknown?][] = [['attribute'], ['default', null], ['case_sensitive', false]];
const P_BATCH: [string, unknown?][] = [['linecount'], ['fill_with', null]];
const P_SLICE: [string, unknown?][] = [['slices'], ['fill_with', null]];
const P_ATTR: [string, unknown?][] = [['name']];

/** Filters over sequences and mappings (Jinja2 3.1 sync variants). */

/** The items a filter walks, charged to the render's step budget. */
export function items(s: State, v: unknown): unknown[] {
  const out = iterate(v);
  s.step(out.length);
  return out;
}

function minMax(s: State, v: unknown, args: unknown[], kwargs: Map<string, unknown>, fname: 'min' | 'max'): unknown {
  const [caseSensitive, attribute] = params(fname, args, kwargs, [['case_sensitive', false], ['attribute', null]]);
  const xs = items(s, v);
  if (xs.length === 0) return new Undefined(undefined, MISSING, 'No aggregated item, sequence was empty.');
  const key = makeAttrGetter(attribute, { ignoreCase: !truthy(caseSensitive) });
  let best = xs[0];
  let bestKey = key(best);
  for (const x of xs.slice(1)) {
    const k = key(x);
    if (fname === 'min' ? lt(k, bestKey) : lt(bestKey, k)) {
      best = x;
      bestKey = k;
    }
  }
  return best;
}

function joinStr(xs: unknown[], sep: string): string {
  let out = '';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    out += (i > 0 ? sep : '') + (typeof x === 'string' ? x : str(x));
  }
  LIMITS.checkString(out.length);
  allocate(out.length * 2);
  return out;
}

export const sequenceFilters: Record<string, FilterFn> = {
  length: (_s, v) => len(v),
  count: (_s, v) => len(v),
  list: (s, v) => [...items(s, v)],
  first: (s, v) => {
    const xs = v instanceof PyGenerator ? v.take() : items(s, v);
    return xs.length > 0 ? xs[0] : new Undefined(undefined, MISSING, 'No first item, sequence was empty.');
  },
  last: (s, v) => {
    if (v instanceof PyGenerator) throw new EvalError("'generator' object is not reversible");
    const xs = items(s, v);
    return xs.length > 0 ? xs[xs.length - 1] : new Undefined(undefined, MISSING, 'No last item, sequence was empty.');
  },
  random: (s, v) => {
    const xs = v instanceof PyGenerator ? (() => { throw new EvalError("object of type 'generator' has no len()"); })() : items(s, v);
    return xs.length > 0 ? xs[Math.floor(Math.random() * xs.length)] : new Undefined(undefined, MISSING, 'No random item, sequence was empty.');
  },
  reverse: (s, v) => {
    const str_ = asString(v);
    if (str_ !== undefined) {
      const r = strChars(str_).reverse().join('');
      return v instanceof Markup ? new Markup(r) : r;
    }
    if (v instanceof Undefined) return new PyGenerator([], 'list_reverseiterator');
    return new PyGenerator([...items(s, v)].reverse(), `${typeName(v)}_reverseiterator`);
  },
  join: (s, v, args, kwargs) => {
    const [d, attribute] = params('join', args, kwargs, P_JOIN);
    let xs = items(s, v);
    if (attribute !== null) {
      const get = makeAttrGetter(attribute);
      xs = xs.map(get);
    }
    if (!s.autoescape) return joinStr(xs, str(d));
    if (!(d instanceof Markup)) {
      let anyMarkup = false;
      for (const x of xs) if (x instanceof Markup) anyMarkup = true;
      if (anyMarkup) return new Markup(xs.map((x) => escape(x).s).join(escape(d).s));
      return joinStr(xs, str(d));
    }
    return new Markup(xs.map((x) => escape(softStr(x)).s).join(d.s));
  },
  sort: (s, v, args, kwargs) => {
    const [reverse, caseSensitive, attribute] = params('sort', args, kwargs, P_SORT);
    const key = makeMultiAttrGetter(attribute, { ignoreCase: !truthy(caseSensitive) });
    const xs = items(s, v);
    const keyed = xs.map((x) => [key(x), x] as const);
    const dir = truthy(reverse) ? -1 : 1;
    keyed.sort((a, b) => dir * keyCompare(a[0], b[0]));
    return keyed.map((k) => k[1]);
  },
  dictsort: (s, v, args, kwargs) => {
    const [caseSensitive, by, reverse] = params('dictsort', args, kwargs, P_DICTSORT);
    const pos = str(by) === 'key' ? 0 : str(by) === 'value' ? 1 : -1;
    if (pos < 0) throw new EvalError('You can only sort by either "key" or "value"');
    if (!isDict(v)) throw new EvalError(`'${typeName(v)}' object has no attribute 'items'`);
    const pairs = dictItems(v);
    s.step(pairs.length);
    const ci = !truthy(caseSensitive);
    const dir = truthy(reverse) ? -1 : 1;
    return pairs.sort((a, b) => {
      let x = a[pos];
      let y = b[pos];
      if (ci) {
        if (typeof x === 'string') x = x.toLowerCase();
        if (typeof y === 'string') y = y.toLowerCase();
      }
      return dir * pyCompare(x, y);
    });
  },
  items: (_s, v) => {
    if (v instanceof Undefined) return new PyGenerator([], 'do_items');
    if (!isDict(v)) throw new EvalError('Can only get item pairs from a mapping.');
    return new PyGenerator(dictItems(v), 'do_items');
  },
  unique: (s, v, args, kwargs) => {
    const [caseSensitive, attribute] = params('unique', args, kwargs, P_UNIQUE);
    const key = makeAttrGetter(attribute, { ignoreCase: !truthy(caseSensitive) });
    return new PyGenerator(() => {
      const seen = new Set<unknown>();
      const out: unknown[] = [];
      for (const x of items(s, v)) {
        const k = hashKey(key(x));
        if (!seen.has(k)) {
          seen.add(k);
          out.push(x);
        }
      }
      return out;
    }, 'sync_do_unique');
  },
  min: (s, v, args, kwargs) => minMax(s, v, args, kwargs, 'min'),
  max: (s, v, args, kwargs) => minMax(s, v, args, kwargs, 'max'),
  sum: (s, v, args, kwargs) => {
    const [attribute, start] = params('sum', args, kwargs, P_SUM);
    let xs = items(s, v);
    if (attribute !== null) xs = xs.map(makeAttrGetter(attribute));
    let acc = start;
    for (const x of xs) acc = add(acc, x);
    return acc;
  },
  groupby: (s, v, args, kwargs) => {
    const [attribute, dflt, caseSensitive] = params('groupby', args, kwargs, P_GROUPBY);
    const ci = !truthy(caseSensitive);
    const key = makeAttrGetter(attribute, { ignoreCase: ci, default: dflt });
    const outKey = makeAttrGetter(attribute, { default: dflt });
    const keyed = items(s, v).map((x) => [key(x), x] as const);
    keyed.sort((a, b) => pyCompare(a[0], b[0]));
    const groups: GroupTuple[] = [];
    for (const [k, x] of keyed) {
      const last = groups[groups.length - 1];
      if (last && eq(last[0], k)) (last[1] as unknown[]).push(x);
      else groups.push(GroupTuple.make(k, [x]));
    }
    if (ci) for (const g of groups) g[0] = outKey((g[1] as unknown[])[0]);
    return groups;
  },
  batch: (s, v, args, kwargs) => {
    const [linecount, fillWith] = params('batch', args, kwargs, P_BATCH);
    const n = toJsNumber(linecount);
    if (n <= 0) throw new EvalError('batch size must be positive');
    if (fillWith !== null) LIMITS.checkItems(n);
    const out: unknown[][] = [];
    let tmp: unknown[] = [];
    for (const x of items(s, v)) {
      if (tmp.length === n) {
        out.push(tmp);
        tmp = [];
      }
      tmp.push(x);
    }
    if (tmp.length > 0) {
      if (fillWith !== null && tmp.length < n) while (tmp.length < n) tmp.push(fillWith);
      out.push(tmp);
    }
    return new PyGenerator(out, 'do_batch');
  },
  slice: (s, v, args, kwargs) => {
    const [slices, fillWith] = params('slice', args, kwargs, P_SLICE);
    const seq = items(s, v);
    const n = toJsNumber(slices);
    if (n <= 0) throw new EvalError('integer division or modulo by zero');
    LIMITS.checkItems(n);
    s.step(n);
    const per = Math.floor(seq.length / n);
    const extra = seq.length % n;
    let offset = 0;
    const out: unknown[][] = [];
    for (let i = 0; i < n; i++) {
      const start = offset + i * per;
      if (i < extra) offset++;
      const end = offset + (i + 1) * per;
      const tmp = seq.slice(start, end);
      if (fillWith !== null && i >= extra) tmp.push(fillWith);
      out.push(tmp);
    }
    return new PyGenerator(out, 'sync_do_slice');
  },
  attr: (_s, v, args, kwargs) => {
    const [name] = params('attr', args, kwargs, P_ATTR);
    return attributeOnly(v, str(name));
  },
};

