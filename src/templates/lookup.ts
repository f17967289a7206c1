import { bind } from './args.js';
import { EvalError } from './errors.js';
import type { FieldAccess } from './format.js';
import { strMethod } from './str-methods.js';
import { DICT_MUTATORS, LIST_MUTATORS, dictMutator, listMutator } from './mutation.js';
import { isFloat as isFloatValue, isInt, PyFloat } from './numbers.js';
import { eq, repr, str } from './protocols.js';
import {
  asString, dictGet, dictItems, DictView, GroupTuple, hasAstral, hashKey, isDict, isPlainObject, Markup, MISSING, objectTypeRepr,
  Namespace, PyBytes, PyDict, PyFunction, PyGenerator, PyRange, PyTuple, strChars, TemplateObject, toJsNumber,
  typeName, Undefined, type CallArgs, type DictLike, type Runtime,
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
  if (typeof key === 'string') return new Undefined(key, obj);
  return new Undefined(undefined, obj, `${objectTypeRepr(obj)} has no element ${repr(key)}`);
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

/** Format fields (`'{0.x}'.format(v)`) look attributes and items up with the same rules. */
const SANDBOX_ACCESS: FieldAccess = { getattr, getitem };

function method(owner: string, name: string, impl: (c: CallArgs, rt: Runtime) => unknown): PyFunction {
  return new PyFunction(name, impl, `<built-in method ${name} of ${owner} object>`);
}

function attribute(obj: unknown, name: string): unknown {
  if (obj instanceof TemplateObject) return obj.getAttr(name);
  if (typeof obj === 'string' || obj instanceof Markup) return strMethod(obj, name, SANDBOX_ACCESS);
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
