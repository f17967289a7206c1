import { EvalError } from './errors.js';
import { PyFloat, floatRepr, intStr, isFloat, isInt, isNumber } from './numbers.js';
import {
  DictView, MISSING, Markup, MissingRef, Namespace, PyBytes, PyDict, PyFunction, PyGenerator, PyRange, PyTuple,
  TemplateObject, Undefined, dictEntries, dictGet, dictKeys, dictSize, hashKey, isDict, isPlainObject, nullProto,
  strChars, strLen, toBigInt, toJsNumber, typeName,
} from './values.js';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * How the values of values.ts behave as Python values: truthiness, str() and repr(), ==, <,
 * len() and iteration, each following CPython's rules for the type.
 */

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false) return false;
  if (v === true) return true;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (v instanceof PyFloat) return v.v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Markup) return v.s.length > 0;
  if (v instanceof Undefined) return false;
  if (v instanceof PyDict) return v.size > 0;
  if (isPlainObject(v)) {
    for (const k in v) if (hasOwn.call(v, k)) return true;
    return false;
  }
  if (v instanceof PyBytes) return v.bytes.length > 0;
  if (v instanceof PyRange) return v.length > 0;
  if (v instanceof DictView) return dictSize(v.dict) > 0;
  return true;
}

/** Python str(). */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof PyFloat) return floatRepr(v.v);
  if (v instanceof Markup) return v.s;
  if (v instanceof MissingRef) return v.text;
  if (v instanceof Undefined) return '';
  return repr(v);
}

const REPR_ESCAPES: Record<string, string> = nullProto({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' });
// Python's str.isprintable(): everything but categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs other than ' '.
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const e = REPR_ESCAPES[ch];
    if (e) out += e;
    else if (ch === quote) out += '\\' + ch;
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out += cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

export function bytesRepr(b: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    if (c === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = 'b' + quote;
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (String.fromCharCode(c) === quote) out += '\\' + quote;
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return out + quote;
}

/** Python repr(), with a guard against cycles and absurd nesting. */
export function repr(v: unknown, depth = 0): string {
  if (depth > 200) throw new EvalError('value is nested too deeply to print', 'limit');
  if (typeof v === 'string') return strRepr(v);
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat) return str(v);
  if (v instanceof Markup) return `Markup(${strRepr(v.s)})`;
  if (v instanceof PyTuple) {
    if (v.length === 1) return `(${repr(v[0], depth + 1)},)`;
    return `(${v.map((x) => repr(x, depth + 1)).join(', ')})`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => repr(x === undefined ? null : x, depth + 1)).join(', ')}]`;
  if (v instanceof PyDict || isPlainObject(v)) {
    const items = dictEntries(v);
    return `{${items.map(([k, x]) => `${repr(k, depth + 1)}: ${repr(x, depth + 1)}`).join(', ')}}`;
  }
  if (v instanceof PyBytes) return bytesRepr(v.bytes);
  if (v instanceof MissingRef) return v.text;
  if (v instanceof Undefined) return 'Undefined';
  if (v instanceof PyFunction) return v.reprText;
  if (v instanceof Namespace) {
    return `<Namespace {${[...v.attrs].map(([k, x]) => `${strRepr(k)}: ${repr(x, depth + 1)}`).join(', ')}}>`;
  }
  if (v instanceof PyRange) return v.step === 1 ? `range(${v.start}, ${v.stop})` : `range(${v.start}, ${v.stop}, ${v.step})`;
  if (v instanceof PyGenerator) return `<generator object ${v.label}>`;
  if (v instanceof DictView) {
    return `dict_${v.kind}([${v.items().map((x) => repr(x, depth + 1)).join(', ')}])`;
  }
  if (v instanceof TemplateObject) return v.repr();
  return '<object>';
}

// ---------------------------------------------------------------- equality, hashing, ordering

/** Python ==, deep for containers. */
export function eq(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return a === a || typeof a !== 'number' ? true : false; // NaN != NaN
  if (depth > 200) throw new EvalError('value is nested too deeply to compare', 'limit');
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (isNumber(a) && isNumber(b)) {
    if ((typeof a === 'bigint' || typeof b === 'bigint') && isInt(a === true || a === false ? Number(a) : a) && isInt(b === true || b === false ? Number(b) : b)) {
      return toBigInt(a) === toBigInt(b);
    }
    return toJsNumber(a) === toJsNumber(b);
  }
  const sa = typeof a === 'string' ? a : a instanceof Markup ? a.s : undefined;
  const sb = typeof b === 'string' ? b : b instanceof Markup ? b.s : undefined;
  if (sa !== undefined || sb !== undefined) return sa === sb;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a instanceof PyTuple !== b instanceof PyTuple) return false;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (isDict(a) && isDict(b)) {
    if (dictSize(a) !== dictSize(b)) return false;
    for (const [k, v] of dictEntries(a)) {
      const w = dictGet(b, k);
      if (w === MISSING || !eq(v, w, depth + 1)) return false;
    }
    return true;
  }
  if (a instanceof Undefined && b instanceof Undefined) return a.constructor === b.constructor;
  if (a instanceof PyBytes && b instanceof PyBytes) {
    return a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);
  }
  if (a instanceof PyRange && b instanceof PyRange) {
    return a.length === b.length && (a.length === 0 || (a.start === b.start && (a.length === 1 || a.step === b.step)));
  }
  if (a instanceof DictView && b instanceof DictView && a.kind !== 'values' && a.kind === b.kind) {
    return eq(new Set(a.items().map((x) => hashKey(x))).size, new Set(b.items().map((x) => hashKey(x))).size) &&
      a.items().every((x) => b.items().some((y) => eq(x, y)));
  }
  return false;
}

/** Python's `<`; TypeError for unorderable pairs. */
export function lt(a: unknown, b: unknown, op = '<'): boolean {
  if (isNumber(a) && isNumber(b)) {
    if (typeof a === 'bigint' || typeof b === 'bigint') {
      if (isFloat(a) || isFloat(b)) return toJsNumber(a) < toJsNumber(b);
      return toBigInt(a) < toBigInt(b);
    }
    return toJsNumber(a) < toJsNumber(b);
  }
  const sa = typeof a === 'string' ? a : a instanceof Markup ? a.s : undefined;
  const sb = typeof b === 'string' ? b : b instanceof Markup ? b.s : undefined;
  if (sa !== undefined && sb !== undefined) return compareStrings(sa, sb) < 0;
  if (Array.isArray(a) && Array.isArray(b) && a instanceof PyTuple === b instanceof PyTuple) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!eq(a[i], b[i])) return lt(a[i], b[i], op);
    }
    return a.length < b.length;
  }
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  throw new EvalError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

/** Code point order, as Python compares str. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort above the BMP in code point order.
      const sx = x >= 0xd800 && x <= 0xdfff;
      const sy = y >= 0xd800 && y <= 0xdfff;
      if (sx !== sy) return sx ? (y >= 0xe000 ? 1 : 1) : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------- iteration and length

/** Python iter() materialised; strings iterate by code point, dicts by key. */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return strChars(v);
  if (v instanceof Markup) return strChars(v.s);
  if (v instanceof PyDict || isPlainObject(v)) return dictKeys(v);
  if (v instanceof PyRange) return v.toArray();
  if (v instanceof PyGenerator) return v.take();
  if (v instanceof DictView) return v.items();
  if (v instanceof MissingRef) return [];
  if (v instanceof Undefined) return [];
  if (v instanceof PyBytes) return Array.from(v.bytes);
  throw new EvalError(`'${typeName(v)}' object is not iterable${methodHint(v)}`);
}

/**
 * The reference's best-known pitfall: `data.items` is dict's method, not the key. Say so when a
 * bound dict method is used as data.
 */
function methodHint(v: unknown): string {
  if (v instanceof PyFunction && v.reprText.endsWith('of dict object>')) {
    return ` (data.${v.name} is the dict method ${v.name}(); to read the key '${v.name}' write data['${v.name}'])`;
  }
  return '';
}

export function isIterable(v: unknown): boolean {
  return (
    Array.isArray(v) || typeof v === 'string' || v instanceof Markup || isDict(v) || v instanceof PyRange ||
    v instanceof PyGenerator || v instanceof DictView || v instanceof Undefined || v instanceof PyBytes
  );
}

/** Python len(). */
export function len(v: unknown): number {
  if (typeof v === 'string') return strLen(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof Markup) return strLen(v.s);
  if (v instanceof PyDict) return v.size;
  if (isPlainObject(v)) return Object.keys(v).length;
  if (v instanceof PyRange) return v.length;
  if (v instanceof PyBytes) return v.bytes.length;
  if (v instanceof DictView) return dictSize(v.dict);
  if (v instanceof Undefined) return 0;
  if (v instanceof Namespace) throw new EvalError("object of type 'Namespace' has no len()");
  throw new EvalError(`object of type '${typeName(v)}' has no len()${methodHint(v)}`);
}
