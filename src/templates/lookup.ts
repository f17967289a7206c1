import { bind } from './args.js';
import { EvalError } from './errors.js';
import { escape } from './escape.js';
import { strFormat } from './format.js';
import { LIMITS, allocate, repeatStr } from './limits.js';
import { DICT_MUTATORS, LIST_MUTATORS, dictMutator, listMutator } from './mutation.js';
import {
  DictView, GroupTuple, MISSING, PyFloat, isFloat as isFloatValue, Markup, Namespace, PyBytes, PyDict,
  PyFunction, PyGenerator, PyRange, PyTuple, TemplateObject, Undefined, asString, dictGet, eq, hashKey, isDict,
  isInt, isPlainObject, strChars, strLen, toJsNumber, typeName, type CallArgs, type DictLike, type Runtime, str,
  dictKeys, dictItems, hasAstral, nullProto,
} from './values.js';

/**
 * Attribute and item lookup with Jinja2's SandboxedEnvironment rules, over own data only:
 * - `x.name`: a Python attribute of x's type first (for dicts `items`, `keys`, `get`… are bound
 *   methods), then the item `x['name']`; missing → Undefined.
 * - `x[key]`: the item first, then (for a str key) the attribute.
 * - A Python attribute whose name starts with `_` (`__class__`, `__globals__`, `_undefined_obj`) is
 *   unsafe: the lookup gives an Undefined that prints as '' and fails with "access to attribute … is
 *   unsafe" as soon as it is used. A name that is no attribute of the value's Python type is looked
 *   up as an item, so a dict key `_links` or `__proto__` is found like any other key.
 * No JavaScript property, prototype or function is ever read: dicts are PyDict maps or own
 * enumerable keys of plain objects, lists are read by integer index.
 */

export const DUNDER = /^__.*__$/s;
const DUNDER_PREFIX = /^__/;

/** The attributes of a Python dict that start with '_' (`dir({})` on CPython 3.11). */
const DICT_UNDERSCORE_ATTRIBUTES: ReadonlySet<string> = new Set([
  '__class__', '__class_getitem__', '__contains__', '__delattr__', '__delitem__', '__dir__', '__doc__', '__eq__', '__format__',
  '__ge__', '__getattribute__', '__getitem__', '__getstate__', '__gt__', '__hash__', '__init__', '__init_subclass__', '__ior__',
  '__iter__', '__le__', '__len__', '__lt__', '__ne__', '__new__', '__or__', '__reduce__', '__reduce_ex__', '__repr__',
  '__reversed__', '__ror__', '__setattr__', '__setitem__', '__sizeof__', '__str__', '__subclasshook__',
]);

/** The attributes of Jinja2's Undefined that start with '_' (`dir(Undefined())`). */
const UNDEFINED_UNDERSCORE_ATTRIBUTES: ReadonlySet<string> = new Set([
  '__add__', '__aiter__', '__bool__', '__call__', '__class__', '__complex__', '__delattr__', '__dir__', '__div__', '__doc__',
  '__eq__', '__float__', '__floordiv__', '__format__', '__ge__', '__getattr__', '__getattribute__', '__getitem__',
  '__getstate__', '__gt__', '__hash__', '__init__', '__init_subclass__', '__int__', '__iter__', '__le__', '__len__', '__lt__',
  '__mod__', '__module__', '__mul__', '__ne__', '__neg__', '__new__', '__pos__', '__pow__', '__radd__', '__rdiv__',
  '__reduce__', '__reduce_ex__', '__repr__', '__rfloordiv__', '__rmod__', '__rmul__', '__rpow__', '__rsub__',
  '__rtruediv__', '__setattr__', '__sizeof__', '__slots__', '__str__', '__sub__', '__subclasshook__', '__truediv__',
  '_fail_with_undefined_error', '_undefined_exception', '_undefined_hint', '_undefined_message', '_undefined_name',
  '_undefined_obj',
]);

/**
 * Whether `name` (starting with '_') is an attribute of obj in Python. Dicts, Undefined and
 * namespaces are exact, because there the answer decides between a key, an error and an unsafe
 * Undefined; for other values every dunder counts as one (their Python types have the common ones,
 * and either way the result prints as '' and fails when used).
 */
function isPythonAttribute(obj: unknown, name: string): boolean {
  if (obj instanceof Undefined) return UNDEFINED_UNDERSCORE_ATTRIBUTES.has(name);
  if (obj instanceof PyDict || isPlainObject(obj)) return DICT_UNDERSCORE_ATTRIBUTES.has(name);
  if (obj instanceof Namespace) return name === '__class__' || obj.attrs.has(name);
  return DUNDER.test(name);
}

function unsafeUndefined(obj: unknown, name: string): Undefined {
  return new Undefined(name, obj, `access to attribute '${name}' of '${typeName(obj)}' object is unsafe.`);
}

/**
 * `x._name`, `x['_name']`, `x | attr('_name')`: an unsafe Undefined for a Python attribute, else
 * the item or Undefined. Undefined's own `__getattr__` refuses dunders quietly, so only `attr()`
 * (which stops there) gets a second Undefined from one; the other lookups go on to its failing
 * `__getitem__`.
 */
function underscoreName(obj: unknown, name: string, itemFallback: boolean): unknown {
  if (isPythonAttribute(obj, name)) return unsafeUndefined(obj, name);
  if (obj instanceof Undefined && (itemFallback || !DUNDER_PREFIX.test(name))) obj.fail();
  if (itemFallback && isDict(obj)) {
    const v = dictGet(obj, name);
    if (v !== MISSING) return v;
  }
  return new Undefined(name, obj);
}

export class SliceValue {
  constructor(
    readonly start: unknown,
    readonly stop: unknown,
    readonly step: unknown,
  ) {}
}

/** Names that are Python attributes of dict (bound methods), not keys, for `d.name`. */
export const DICT_ATTRIBUTES: ReadonlySet<string> = new Set(['get', 'keys', 'values', 'items', 'copy', 'update', 'pop', 'popitem', 'setdefault', 'clear']);

export function getattr(obj: unknown, name: string): unknown {
  if (name.charCodeAt(0) === 95) return underscoreName(obj, name, true);
  if (obj instanceof Undefined) obj.fail();
  if ((obj instanceof PyDict || isPlainObject(obj)) && !DICT_ATTRIBUTES.has(name)) {
    // the common case, `data.field`: dicts have no other attributes, so this is the item
    const v = dictGet(obj, name);
    return v !== MISSING ? v : new Undefined(name, obj);
  }
  const attr = attribute(obj, name);
  if (attr !== MISSING) return attr;
  if (isDict(obj)) {
    const v = dictGet(obj, name);
    if (v !== MISSING) return v;
  }
  return new Undefined(name, obj);
}

export function getitem(obj: unknown, key: unknown): unknown {
  if (obj instanceof Undefined) obj.fail();
  if (key instanceof SliceValue) return sliceOf(obj, key);
  if (isDict(obj)) {
    if (key instanceof Undefined) key.fail();
    let hashable = true;
    try {
      hashKey(key);
    } catch {
      hashable = false;
    }
    if (hashable) {
      const v = dictGet(obj, key);
      if (v !== MISSING) return v;
    }
  } else if (isInt(key) || typeof key === 'boolean') {
    const v = indexOf(obj, typeof key === 'boolean' ? (key ? 1 : 0) : toJsNumber(key));
    if (v !== MISSING) return v;
  }
  const name = asString(key);
  if (name !== undefined) {
    if (name.charCodeAt(0) === 95) return underscoreName(obj, name, false);
    const attr = attribute(obj, name);
    if (attr !== MISSING) return attr;
  }
  return new Undefined(key as string, obj);
}

/** The `attr()` filter (Jinja2's do_attr): the attribute only, never the item. */
export function attributeOnly(obj: unknown, name: string): unknown {
  if (name.charCodeAt(0) === 95) return underscoreName(obj, name, false);
  if (obj instanceof Undefined) obj.fail();
  const attr = attribute(obj, name);
  return attr !== MISSING ? attr : new Undefined(name, obj);
}

function indexOf(obj: unknown, i: number): unknown {
  if (Array.isArray(obj)) {
    const n = obj.length;
    const k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) return MISSING;
    const v = obj[k];
    return v === undefined ? null : v;
  }
  const s = asString(obj);
  if (s !== undefined) {
    const chars = hasAstral(s) ? strChars(s) : null;
    const n = chars ? chars.length : s.length;
    const k = i < 0 ? i + n : i;
    if (k < 0 || k >= n) return MISSING;
    const ch = chars ? chars[k]! : s[k]!;
    return obj instanceof Markup ? new Markup(ch) : ch;
  }
  if (obj instanceof PyRange) {
    const k = i < 0 ? i + obj.length : i;
    return k < 0 || k >= obj.length ? MISSING : obj.at(k);
  }
  if (obj instanceof PyBytes) {
    const n = obj.bytes.length;
    const k = i < 0 ? i + n : i;
    return k < 0 || k >= n ? MISSING : obj.bytes[k]!;
  }
  return MISSING;
}

function sliceIndex(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return toJsNumber(v);
  if (v instanceof Undefined) v.fail();
  throw new EvalError('slice indices must be integers or None or have an __index__ method');
}

/** Python slice semantics (PySlice_AdjustIndices). */
export function sliceIndices(length: number, sl: SliceValue): number[] {
  const step = sliceIndex(sl.step) ?? 1;
  if (step === 0) throw new EvalError('slice step cannot be zero');
  const adjust = (v: number | null, dflt: number): number => {
    if (v === null) return dflt;
    if (v < 0) {
      v += length;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= length) v = step < 0 ? length - 1 : length;
    return v;
  };
  const start = adjust(sliceIndex(sl.start), step < 0 ? length - 1 : 0);
  const stop = adjust(sliceIndex(sl.stop), step < 0 ? -1 : length);
  const out: number[] = [];
  if (step > 0) for (let i = start; i < stop; i += step) out.push(i);
  else for (let i = start; i > stop; i += step) out.push(i);
  return out;
}

function sliceOf(obj: unknown, sl: SliceValue): unknown {
  if (Array.isArray(obj)) {
    const step = sliceIndex(sl.step);
    if (step === null || step === 1) {
      const n = obj.length;
      const idx = sliceIndices(n, sl);
      const out = idx.length === 0 ? [] : obj.slice(idx[0], idx[idx.length - 1]! + 1);
      return obj instanceof PyTuple ? PyTuple.of2(out) : out;
    }
    const out = sliceIndices(obj.length, sl).map((i) => obj[i]);
    return obj instanceof PyTuple ? PyTuple.of2(out) : out;
  }
  const s = asString(obj);
  if (s !== undefined) {
    const chars = strChars(s);
    const r = sliceIndices(chars.length, sl).map((i) => chars[i]).join('');
    return obj instanceof Markup ? new Markup(r) : r;
  }
  if (obj instanceof PyRange) {
    const arr = obj.toArray();
    const idx = sliceIndices(arr.length, sl);
    if (idx.length === 0) return new PyRange(0, 0, 1);
    const step = (sliceIndex(sl.step) ?? 1) * obj.step;
    return new PyRange(arr[idx[0]!]!, arr[idx[0]!]! + step * idx.length, step);
  }
  if (obj instanceof PyBytes) return new PyBytes(Uint8Array.from(sliceIndices(obj.bytes.length, sl).map((i) => obj.bytes[i]!)));
  return new Undefined(undefined, obj, `${typeName(obj)} object is not subscriptable`);
}

// ------------------------------------------------------------------ attributes / bound methods

function method(owner: string, name: string, impl: (c: CallArgs, rt: Runtime) => unknown): PyFunction {
  return new PyFunction(name, impl, `<built-in method ${name} of ${owner} object>`);
}

function attribute(obj: unknown, name: string): unknown {
  if (obj instanceof TemplateObject) return obj.getAttr(name);
  if (typeof obj === 'string' || obj instanceof Markup) return strMethod(obj, name);
  if (isInt(obj) || typeof obj === 'boolean') {
    const n = typeof obj === 'boolean' ? (obj ? 1 : 0) : obj;
    if (name === 'real' || name === 'numerator') return n;
    if (name === 'imag') return 0;
    if (name === 'denominator') return 1;
  }
  if (isFloatValue(obj)) {
    if (name === 'real') return obj;
    if (name === 'imag') return new PyFloat(0);
  }
  if (obj instanceof GroupTuple && (name === 'grouper' || name === 'list')) return obj[name === 'grouper' ? 0 : 1];
  if (obj instanceof PyTuple) return seqMethod(obj, name, 'tuple');
  if (Array.isArray(obj)) {
    if (LIST_MUTATORS.has(name)) return listMutator(obj, name);
    return seqMethod(obj, name, 'list');
  }
  if (obj instanceof PyDict || isPlainObject(obj)) {
    if (DICT_MUTATORS.has(name)) return dictMutator(obj, name);
    return dictMethod(obj, name);
  }
  if (obj instanceof Namespace) return obj.attrs.has(name) ? obj.attrs.get(name) : MISSING;
  if (obj instanceof TemplateObject) return obj.getAttr(name);
  if (obj instanceof PyBytes && name === 'decode') {
    return method('bytes', 'decode', (c) => {
      const [encoding, errors] = bind('decode', c, [['encoding', 'utf-8'], ['errors', 'strict']]);
      const enc = String(str(encoding)).toLowerCase().replace('_', '-');
      if (enc === 'ascii' && obj.bytes.some((b) => b > 127)) throw new EvalError("'ascii' codec can't decode bytes");
      if (!['utf-8', 'utf8', 'ascii', 'latin-1', 'latin1', 'iso-8859-1'].includes(enc)) throw new EvalError(`unknown encoding: ${str(encoding)}`);
      if (enc.startsWith('latin') || enc === 'iso-8859-1') return String.fromCharCode(...obj.bytes);
      try {
        return new TextDecoder('utf-8', { fatal: str(errors) === 'strict' }).decode(obj.bytes);
      } catch {
        throw new EvalError("'utf-8' codec can't decode bytes: invalid data");
      }
    });
  }
  if (obj instanceof PyGenerator || obj instanceof DictView || obj instanceof PyRange) {
    if (obj instanceof PyRange && (name === 'start' || name === 'stop' || name === 'step')) return obj[name];
  }
  return MISSING;
}

function dictMethod(d: DictLike, name: string): unknown {
  switch (name) {
    case 'get':
      return method('dict', 'get', (c) => {
        if (c.kwargs.size > 0) throw new EvalError('get() takes no keyword arguments');
        if (c.args.length < 1 || c.args.length > 2) throw new EvalError(`get expected 1 or 2 arguments, got ${c.args.length}`);
        hashKey(c.args[0]);
        const v = dictGet(d, c.args[0]);
        return v === MISSING ? (c.args.length > 1 ? c.args[1] : null) : v;
      });
    case 'keys':
      return method('dict', 'keys', () => new DictView('keys', d));
    case 'values':
      return method('dict', 'values', () => new DictView('values', d));
    case 'items':
      return method('dict', 'items', () => new DictView('items', d));
    case 'copy':
      return method('dict', 'copy', () => PyDict.from(dictItems(d).map((t) => [t[0], t[1]] as const)));
  }
  return MISSING;
}

function seqMethod(a: unknown[], name: string, owner: string): unknown {
  switch (name) {
    case 'count':
      return method(owner, 'count', (c) => {
        const [x] = bind('count', c, [['value']]);
        return a.filter((y) => eq(y, x)).length;
      });
    case 'index':
      return method(owner, 'index', (c) => {
        const [x, start, stop] = bind('index', c, [['value'], ['start', 0], ['stop', a.length]]);
        const idx = sliceIndices(a.length, new SliceValue(start, stop, null));
        for (const i of idx) if (eq(a[i], x)) return i;
        throw new EvalError(`${str(x)} is not in ${owner}`);
      });
    case 'copy':
      if (owner === 'list') return method(owner, 'copy', () => [...a]);
  }
  return MISSING;
}

// ------------------------------------------------------------------ str methods

const WS = ' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function isPyWhitespace(ch: string): boolean {
  return WS.includes(ch);
}

function strArg(fname: string, v: unknown, markup: boolean): string {
  if (markup && (typeof v === 'string' || v instanceof Markup)) return escape(v).s;
  const s = asString(v);
  if (s === undefined) {
    if (v instanceof Undefined) v.fail();
    throw new EvalError(`${fname}() argument must be str, not ${typeName(v)}`);
  }
  return s;
}

function stripChars(s: string, chars: unknown, left: boolean, right: boolean, fname: string): string {
  const set = chars === null || chars === undefined ? null : strArg(fname, chars, false);
  const inSet = (ch: string) => (set === null ? isPyWhitespace(ch) : set.includes(ch));
  const cs = strChars(s);
  let i = 0;
  let j = cs.length;
  if (left) while (i < j && inSet(cs[i]!)) i++;
  if (right) while (j > i && inSet(cs[j - 1]!)) j--;
  return cs.slice(i, j).join('');
}

export function pySplit(s: string, sep: unknown, maxsplit: number, fromRight = false): string[] {
  if (sep === null || sep === undefined) {
    const words: string[] = [];
    const cs = strChars(s);
    if (!fromRight) {
      let i = 0;
      while (i < cs.length) {
        while (i < cs.length && isPyWhitespace(cs[i]!)) i++;
        if (i >= cs.length) break;
        if (maxsplit >= 0 && words.length === maxsplit) {
          let rest = cs.slice(i).join('');
          rest = rest.replace(/[\s\x1c-\x1f\x85]+$/u, '');
          words.push(rest);
          return words;
        }
        let j = i;
        while (j < cs.length && !isPyWhitespace(cs[j]!)) j++;
        words.push(cs.slice(i, j).join(''));
        i = j;
      }
      return words;
    }
    let j = cs.length;
    while (j > 0) {
      while (j > 0 && isPyWhitespace(cs[j - 1]!)) j--;
      if (j <= 0) break;
      if (maxsplit >= 0 && words.length === maxsplit) {
        let rest = cs.slice(0, j).join('');
        rest = rest.replace(/^[\s\x1c-\x1f\x85]+/u, '');
        words.unshift(rest);
        return words;
      }
      let i = j;
      while (i > 0 && !isPyWhitespace(cs[i - 1]!)) i--;
      words.unshift(cs.slice(i, j).join(''));
      j = i;
    }
    return words;
  }
  const d = strArg('split', sep, false);
  if (d === '') throw new EvalError('empty separator');
  const parts = s.split(d);
  if (maxsplit < 0 || parts.length - 1 <= maxsplit) return parts;
  if (!fromRight) return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(d)];
  return [parts.slice(0, parts.length - maxsplit).join(d), ...parts.slice(parts.length - maxsplit)];
}

/** Unicode titlecase where it differs from uppercase (JavaScript has no toTitleCase). */
const TITLECASE: Record<string, string> = nullProto({
  'Ǆ': 'ǅ', 'ǅ': 'ǅ', 'ǆ': 'ǅ', 'Ǉ': 'ǈ', 'ǈ': 'ǈ', 'ǉ': 'ǈ', 'Ǌ': 'ǋ', 'ǋ': 'ǋ', 'ǌ': 'ǋ', 'Ǳ': 'ǲ', 'ǲ': 'ǲ', 'ǳ': 'ǲ',
  'ß': 'Ss', 'ﬀ': 'Ff', 'ﬁ': 'Fi', 'ﬂ': 'Fl', 'ﬃ': 'Ffi', 'ﬄ': 'Ffl', 'ﬅ': 'St', 'ﬆ': 'St',
});

function titleChar(ch: string): string {
  return TITLECASE[ch] ?? ch.toUpperCase();
}

/** Python str.title(): title-cases a letter that follows a non-letter. */
export function pyTitle(s: string): string {
  let out = '';
  let prevCased = false;
  for (const ch of s) {
    const isLetter = ch.toLowerCase() !== ch.toUpperCase() || ch in TITLECASE;
    out += isLetter ? (prevCased ? ch.toLowerCase() : titleChar(ch)) : ch;
    prevCased = isLetter;
  }
  return out;
}

/** Python str.capitalize(): first character title-cased, the rest lower-cased. */
export function pyCapitalize(s: string): string {
  const cs = strChars(s);
  if (cs.length === 0) return s;
  return titleChar(cs[0]!) + cs.slice(1).join('').toLowerCase();
}

export function pyCenter(s: string, width: number, fill = ' '): string {
  const n = strLen(s);
  if (width <= n) return s;
  const pad = width - n;
  const left = Math.floor(pad / 2) + (pad & width & 1);
  return repeatStr(fill, left) + s + repeatStr(fill, pad - left);
}

function strIndexRange(c: CallArgs, fname: string, s: string): [string, number, number] {
  const [sub, start, end] = bind(fname, c, [['sub'], ['start', null], ['end', null]]);
  const n = strLen(s);
  const idx = (v: unknown, d: number) => {
    if (v === null || v === undefined) return d;
    let k = toJsNumber(v);
    if (k < 0) k = Math.max(0, k + n);
    return Math.min(k, n);
  };
  return [strArg(fname, sub, false), idx(start, 0), idx(end, n)];
}

function cpSlice(s: string, a: number, b: number): string {
  return hasAstral(s) ? strChars(s).slice(a, b).join('') : s.slice(a, b);
}

function cpIndex(s: string, unitIndex: number): number {
  return hasAstral(s) ? strLen(s.slice(0, unitIndex)) : unitIndex;
}

function strMethod(obj: string | Markup, name: string): unknown {
  const markup = obj instanceof Markup;
  const s = asString(obj)!;
  const wrap = (r: string) => (markup ? new Markup(r) : r);
  const m = (impl: (c: CallArgs, rt: Runtime) => unknown) => method('str', name, impl);
  const noArgs = (impl: () => unknown) =>
    m((c) => {
      if (c.args.length > 0 || c.kwargs.size > 0) throw new EvalError(`${name}() takes no arguments (${c.args.length} given)`);
      return impl();
    });
  const pred = (re: RegExp, nonEmpty = true) => noArgs(() => (nonEmpty ? s.length > 0 : true) && re.test(s));
  switch (name) {
    case 'upper': return noArgs(() => wrap(s.toUpperCase()));
    case 'lower': return noArgs(() => wrap(s.toLowerCase()));
    case 'casefold': return noArgs(() => wrap(s.toLowerCase()));
    case 'swapcase': return noArgs(() => wrap([...s].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('')));
    case 'title': return noArgs(() => wrap(pyTitle(s)));
    case 'capitalize': return noArgs(() => wrap(pyCapitalize(s)));
    case 'isalnum': return pred(/^[\p{L}\p{N}]+$/u);
    case 'isalpha': return pred(/^\p{L}+$/u);
    case 'isascii': return pred(/^[\x00-\x7f]*$/, false);
    case 'isdecimal': return pred(/^\p{Nd}+$/u);
    case 'isdigit': return pred(/^[\p{Nd}\u00b2\u00b3\u00b9\u2070-\u2079\u2080-\u2089]+$/u);
    case 'isnumeric': return pred(/^\p{N}+$/u);
    case 'isspace': return noArgs(() => s.length > 0 && [...s].every(isPyWhitespace));
    case 'isidentifier': return pred(/^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u);
    case 'isprintable': return pred(/^[^\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*$/u, false);
    case 'islower': return noArgs(() => /\p{Ll}/u.test(s) && !/\p{Lu}|\p{Lt}/u.test(s));
    case 'isupper': return noArgs(() => /\p{Lu}/u.test(s) && !/\p{Ll}|\p{Lt}/u.test(s));
    case 'istitle': return noArgs(() => s === pyTitle(s) && /\p{L}/u.test(s));
    case 'strip':
    case 'lstrip':
    case 'rstrip':
      return m((c) => {
        const [chars] = bind(name, c, [['chars', null]]);
        return wrap(stripChars(s, chars, name !== 'rstrip', name !== 'lstrip', name));
      });
    case 'split':
    case 'rsplit':
      return m((c) => {
        const [sep, maxsplit] = bind(name, c, [['sep', null], ['maxsplit', -1]]);
        return pySplit(s, sep, toJsNumber(maxsplit), name === 'rsplit').map(wrap);
      });
    case 'splitlines':
      return m((c) => {
        const [keepends] = bind(name, c, [['keepends', false]]);
        const out: string[] = [];
        const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
        let last = 0;
        for (let mm = re.exec(s); mm; mm = re.exec(s)) {
          out.push(s.slice(last, keepends ? re.lastIndex : mm.index));
          last = re.lastIndex;
        }
        if (last < s.length) out.push(s.slice(last));
        return out.map(wrap);
      });
    case 'startswith':
    case 'endswith':
      return m((c) => {
        const [prefix, start, end] = bind(name, c, [['prefix'], ['start', null], ['end', null]]);
        const n = strLen(s);
        const a = start === null ? 0 : Math.max(0, Math.min(n, toJsNumber(start) < 0 ? toJsNumber(start) + n : toJsNumber(start)));
        const b = end === null ? n : Math.max(0, Math.min(n, toJsNumber(end) < 0 ? toJsNumber(end) + n : toJsNumber(end)));
        const sub = cpSlice(s, a, b);
        const cands = prefix instanceof PyTuple ? [...prefix] : [prefix];
        if (!(prefix instanceof PyTuple) && asString(prefix) === undefined) {
          throw new EvalError(`${name} first arg must be str or a tuple of str, not ${typeName(prefix)}`);
        }
        return cands.some((p) => (name === 'startswith' ? sub.startsWith(strArg(name, p, false)) : sub.endsWith(strArg(name, p, false))));
      });
    case 'replace':
      return m((c) => {
        const [old, neu, count] = bind(name, c, [['old'], ['new'], ['count', -1]]);
        const o = strArg(name, old, markup);
        const n = strArg(name, neu, markup);
        return wrap(pyReplace(s, o, n, toJsNumber(count)));
      });
    case 'find':
    case 'rfind':
    case 'index':
    case 'rindex':
    case 'count':
      return m((c) => {
        const [sub, a, b] = strIndexRange(c, name, s);
        const hay = cpSlice(s, a, b);
        if (name === 'count') {
          if (sub === '') return strLen(hay) + 1;
          return hay.split(sub).length - 1;
        }
        const at = name.startsWith('r') ? hay.lastIndexOf(sub) : hay.indexOf(sub);
        if (at < 0) {
          if (name.endsWith('index')) throw new EvalError('substring not found');
          return -1;
        }
        return a + cpIndex(hay, at);
      });
    case 'join':
      return m((c, rt) => {
        const [items] = bind(name, c, [['iterable']]);
        const parts = iterItems(items);
        rt.step(parts.length);
        return wrap(
          parts
            .map((p, i) => {
              if (markup && (typeof p === 'string' || p instanceof Markup)) return escape(p).s;
              const ps = asString(p);
              if (ps === undefined) throw new EvalError(`sequence item ${i}: expected str instance, ${typeName(p)} found`);
              return ps;
            })
            .join(s),
        );
      });
    case 'center':
    case 'ljust':
    case 'rjust':
      return m((c) => {
        const [width, fill] = bind(name, c, [['width'], ['fillchar', ' ']]);
        const w = toJsNumber(width);
        LIMITS.checkString(w);
        const f = strArg(name, fill, false);
        if (strLen(f) !== 1) throw new EvalError('The fill character must be exactly one character long');
        const n = strLen(s);
        if (w <= n) return obj;
        if (name === 'center') return wrap(pyCenter(s, w, f));
        return wrap(name === 'ljust' ? s + repeatStr(f, w - n) : repeatStr(f, w - n) + s);
      });
    case 'zfill':
      return m((c) => {
        const [width] = bind(name, c, [['width']]);
        const w = toJsNumber(width);
        LIMITS.checkString(w);
        const n = strLen(s);
        if (w <= n) return obj;
        const sign = s[0] === '+' || s[0] === '-' ? s[0] : '';
        return wrap(sign + repeatStr('0', w - n) + s.slice(sign.length));
      });
    case 'partition':
    case 'rpartition':
      return m((c) => {
        const [sep] = bind(name, c, [['sep']]);
        const d = strArg(name, sep, markup);
        if (d === '') throw new EvalError('empty separator');
        const at = name === 'partition' ? s.indexOf(d) : s.lastIndexOf(d);
        if (at < 0) return PyTuple.of2(name === 'partition' ? [obj, wrap(''), wrap('')] : [wrap(''), wrap(''), obj]);
        return PyTuple.of2([wrap(s.slice(0, at)), wrap(d), wrap(s.slice(at + d.length))]);
      });
    case 'removeprefix':
    case 'removesuffix':
      return m((c) => {
        const [a] = bind(name, c, [['affix']]);
        const p = strArg(name, a, markup);
        if (name === 'removeprefix') return wrap(p && s.startsWith(p) ? s.slice(p.length) : s);
        return wrap(p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s);
      });
    case 'expandtabs':
      return m((c) => {
        const [tabsize] = bind(name, c, [['tabsize', 8]]);
        const t = toJsNumber(tabsize);
        let col = 0;
        let out = '';
        for (const ch of s) {
          if (ch === '\t') {
            const k = t > 0 ? t - (col % t) : 0;
            out += repeatStr(' ', k);
            col += k;
          } else {
            out += ch;
            col = ch === '\n' || ch === '\r' ? 0 : col + 1;
          }
        }
        return wrap(out);
      });
    case 'encode':
      return m((c) => {
        const [encoding] = bind(name, c, [['encoding', 'utf-8'], ['errors', 'strict']]);
        const enc = str(encoding).toLowerCase();
        if (enc === 'utf-8' || enc === 'utf8') return new PyBytes(new TextEncoder().encode(s));
        if (enc === 'ascii') {
          if (/[^\x00-\x7f]/.test(s)) throw new EvalError("'ascii' codec can't encode characters");
          return new PyBytes(Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
        }
        throw new EvalError(`unknown encoding: ${enc}`);
      });
    case 'format':
      return m((c) => {
        const r = strFormat(s, c.args, c.kwargs, { getattr, getitem }, markup);
        return wrap(r);
      });
    case 'format_map':
      return m((c) => {
        const [mapping] = bind(name, c, [['mapping']]);
        if (!isDict(mapping)) throw new EvalError(`'${typeName(mapping)}' object is not subscriptable`);
        const kw = new Map<string, unknown>(dictKeys(mapping).map((k) => [str(k), dictGet(mapping, k)]));
        return wrap(strFormat(s, [], kw, { getattr, getitem }, markup));
      });
  }
  return MISSING;
}

export function pyReplace(s: string, old: string, neu: string, count: number): string {
  if (count === 0) return s;
  if (old === '') {
    const cs = strChars(s);
    let out = '';
    let n = 0;
    for (let i = 0; i <= cs.length; i++) {
      if (count < 0 || n < count) {
        out += neu;
        n++;
      }
      if (i < cs.length) out += cs[i];
    }
    LIMITS.checkString(out.length);
    return out;
  }
  const parts = s.split(old);
  if (count < 0 || parts.length - 1 <= count) {
    LIMITS.checkString(s.length + (parts.length - 1) * (neu.length - old.length));
    const r = parts.join(neu);
    allocate(r.length * 2);
    return r;
  }
  return parts.slice(0, count + 1).join(neu) + old + parts.slice(count + 1).join(old);
}

function iterItems(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return strChars(v);
  if (v instanceof Markup) return strChars(v.s);
  if (isDict(v)) return dictKeys(v);
  if (v instanceof PyGenerator) return v.take();
  if (v instanceof DictView) return v.items();
  if (v instanceof PyRange) return v.toArray();
  if (v instanceof Undefined) return [];
  throw new EvalError(`can only join an iterable`);
}

