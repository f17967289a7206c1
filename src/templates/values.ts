import { EvalError } from './errors.js';

/**
 * The Python value model the evaluator works on.
 *
 *   None → null (JS `undefined` found inside context data also counts as None)
 *   bool → boolean
 *   int  → number when it is a safe integer, bigint beyond (19-digit ids stay exact)
 *   float → a non-integral JS number, or PyFloat for integral floats (`2.0`, `1e3`), so int and
 *           float stay distinct the way Python keeps them
 *   str  → string; Markup (escape.ts) is a str that is already safe
 *   list → Array; tuple → PyTuple (an Array subclass)
 *   dict → PyDict (insertion-ordered, Python key equality) or a plain JSON object from the context
 *   bytes → PyBytes
 * Plus the runtime objects templates see: Undefined, functions and bound methods, namespace, range,
 * generators, dict views, the loop object. Nothing else is reachable.
 */

/** A lookup table without a prototype: dynamic keys such as 'constructor' never hit Object.prototype. */
export function nullProto<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

export class PyFloat {
  constructor(readonly v: number) {}
}

export class PyTuple extends Array<unknown> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  static of2(items: unknown[]): PyTuple {
    const t = new PyTuple();
    for (const x of items) t.push(x);
    return t;
  }
}

/** What groupby yields: a (grouper, list) tuple that also has those two attributes. */
export class GroupTuple extends PyTuple {
  static make(grouper: unknown, list: unknown[]): GroupTuple {
    const g = new GroupTuple();
    g.push(grouper, list);
    return g;
  }
}

export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export class Markup {
  constructor(readonly s: string) {}
  toString(): string {
    return this.s;
  }
}

/** Jinja2's default Undefined: prints as '', is falsy, iterates as empty, fails on most other use. */
export class Undefined {
  constructor(
    readonly name: string | undefined,
    /** The object the lookup was made on; `MISSING` when a plain variable was not found. */
    readonly obj: unknown = MISSING,
    readonly hint?: string,
  ) {}
  message(): string {
    if (this.hint) return this.hint;
    if (this.obj === MISSING) return `'${this.name}' is undefined`;
    if (typeof this.name !== 'string') return `${objectTypeRepr(this.obj)} has no element ${repr(this.name)}`;
    return `'${objectTypeRepr(this.obj)}' has no attribute '${this.name}'`;
  }
  fail(): never {
    throw new EvalError(this.message());
  }
}

/**
 * get_secret / get_variable with a name the tenant does not have: behaves as Undefined (so
 * `| default(...)` replaces it) but prints as the original expression (docs/design.md#autoescape-and-unknown-names).
 */
export class MissingRef extends Undefined {
  constructor(
    readonly fn: string,
    readonly refName: string,
  ) {
    super(undefined, MISSING, `${fn}('${refName}') is not defined for this tenant`);
  }
  get text(): string {
    return `{{ ${this.fn}('${this.refName}') }}`;
  }
}

export const MISSING: unique symbol = Symbol('missing');

export interface CallArgs {
  args: unknown[];
  kwargs: Map<string, unknown>;
}

/** Anything a template may call: builtins, filters-as-functions, macros, bound str/dict/list methods. */
export class PyFunction {
  constructor(
    readonly name: string,
    readonly impl: (call: CallArgs, rt: Runtime) => unknown,
    /** repr text, e.g. `<built-in method items of dict object>` */
    readonly reprText: string = `<function ${name}>`,
  ) {}
}

/** What builtins and methods may need from the running render (budget, autoescape…). */
export interface Runtime {
  autoescape: boolean;
  step(n?: number): void;
  checkSize(n: number): void;
  /** Called by every method that changes a list or dict, before it changes anything (mutation.ts). */
  beforeMutation(): void;
}

export class Namespace {
  readonly attrs = new Map<string, unknown>();
}

export class PyRange {
  readonly length: number;
  constructor(
    readonly start: number,
    readonly stop: number,
    readonly step: number,
  ) {
    const n = step > 0 ? Math.ceil((stop - start) / step) : Math.ceil((start - stop) / -step);
    this.length = Math.max(0, n);
  }
  at(i: number): number {
    return this.start + i * this.step;
  }
  toArray(): number[] {
    const out = new Array<number>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.start + i * this.step;
    return out;
  }
}

/** Jinja2 filters like map/select return generators: single use, always truthy, no len()/index. */
export class PyGenerator {
  consumed = false;
  constructor(
    /** The items, or a function producing them: like Python, nothing runs until first consumed. */
    private readonly items: unknown[] | (() => unknown[]),
    readonly label: string,
  ) {}
  take(): unknown[] {
    if (this.consumed) return [];
    this.consumed = true;
    return typeof this.items === 'function' ? this.items() : this.items;
  }
}

export class DictView {
  constructor(
    readonly kind: 'keys' | 'values' | 'items',
    readonly dict: DictLike,
  ) {}
  items(): unknown[] {
    if (this.kind === 'keys') return dictKeys(this.dict);
    if (this.kind === 'values') return dictValues(this.dict);
    return dictItems(this.dict);
  }
}

/** Python dict: insertion order, keys compared like Python (1 == 1.0 == True, 'a' == Markup('a')). */
export class PyDict {
  private readonly map = new Map<unknown, unknown>();
  /** Original key objects where they differ from the hash key (bools, floats, tuples, Markup). */
  private origKeys: Map<unknown, unknown> | undefined;

  static from(entries: Iterable<readonly [unknown, unknown]>): PyDict {
    const d = new PyDict();
    for (const [k, v] of entries) d.set(k, v);
    return d;
  }
  get size(): number {
    return this.map.size;
  }
  get(key: unknown): unknown {
    const hk = typeof key === 'string' ? key : hashKey(key);
    return this.map.has(hk) ? this.map.get(hk) : MISSING;
  }
  has(key: unknown): boolean {
    return this.map.has(typeof key === 'string' ? key : hashKey(key));
  }
  set(key: unknown, value: unknown): void {
    if (typeof key === 'string') {
      this.map.set(key, value);
      return;
    }
    const hk = hashKey(key);
    if (!this.map.has(hk) && hk !== key) (this.origKeys ??= new Map()).set(hk, key);
    this.map.set(hk, value);
  }
  /** String-keyed fast path for JSON parsing. */
  setStr(key: string, value: unknown): void {
    this.map.set(key, value);
  }
  delete(key: unknown): void {
    const hk = typeof key === 'string' ? key : hashKey(key);
    this.map.delete(hk);
    this.origKeys?.delete(hk);
  }
  clear(): void {
    this.map.clear();
    this.origKeys = undefined;
  }
  /** Removes and returns the last inserted entry (dict.popitem), or undefined when empty. */
  popLast(): [unknown, unknown] | undefined {
    if (this.map.size === 0) return undefined;
    let last: unknown;
    for (const k of this.map.keys()) last = k;
    const entry: [unknown, unknown] = [this.origKeys?.has(last) ? this.origKeys.get(last) : last, this.map.get(last)];
    this.map.delete(last);
    this.origKeys?.delete(last);
    return entry;
  }
  keys(): unknown[] {
    const out: unknown[] = [];
    const orig = this.origKeys;
    for (const k of this.map.keys()) out.push(orig?.has(k) ? orig.get(k) : k);
    return out;
  }
  values(): unknown[] {
    return [...this.map.values()];
  }
  entries(): [unknown, unknown][] {
    const out: [unknown, unknown][] = [];
    const orig = this.origKeys;
    for (const [k, v] of this.map) out.push([orig?.has(k) ? orig.get(k) : k, v]);
    return out;
  }
}

export type DictLike = PyDict | Record<string, unknown>;

const hasOwn = Object.prototype.hasOwnProperty;

/** A plain JSON object handed in by the caller (prototype Object.prototype or null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

export function isDict(v: unknown): v is DictLike {
  return v instanceof PyDict || isPlainObject(v);
}

export function dictGet(d: DictLike, key: unknown): unknown {
  if (d instanceof PyDict) return d.get(key);
  const k = typeof key === 'string' ? key : key instanceof Markup ? key.s : undefined;
  if (k === undefined) return MISSING;
  if (!hasOwn.call(d, k)) return MISSING;
  const v = d[k];
  return v === undefined ? null : v;
}

export function dictHas(d: DictLike, key: unknown): boolean {
  return dictGet(d, key) !== MISSING;
}

export function dictKeys(d: DictLike): unknown[] {
  return d instanceof PyDict ? d.keys() : Object.keys(d);
}

export function dictValues(d: DictLike): unknown[] {
  if (d instanceof PyDict) return d.values();
  return Object.keys(d).map((k) => (d[k] === undefined ? null : d[k]));
}

export function dictItems(d: DictLike): PyTuple[] {
  if (d instanceof PyDict) return d.entries().map((e) => PyTuple.of2(e));
  return Object.keys(d).map((k) => PyTuple.of2([k, d[k] === undefined ? null : d[k]]));
}

export function dictSize(d: DictLike): number {
  return d instanceof PyDict ? d.size : Object.keys(d).length;
}

// ---------------------------------------------------------------- numbers

export function isInt(v: unknown): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}

export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v));
}

/** int, float or bool (Python's numbers.Number for Jinja2's purposes) */
export function isNumber(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat || typeof v === 'boolean';
}

/** Builds a float: integral results are wrapped so they keep printing as `2.0`. */
export function mkFloat(x: number): number | PyFloat {
  return Number.isInteger(x) ? new PyFloat(x) : x;
}

/** Normalises an exact integer to the representation invariant (number when safe). */
export function mkInt(x: bigint | number): number | bigint {
  if (typeof x === 'number') return Number.isSafeInteger(x) ? x : BigInt(x);
  return x >= -9007199254740991n && x <= 9007199254740991n ? Number(x) : x;
}

/** JS number value of an int/float/bool. */
export function toJsNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof PyFloat) return v.v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new EvalError(`expected a number, got ${typeName(v)}`);
}

export function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new EvalError(`expected an integer, got ${typeName(v)}`);
}

/** Python float repr: shortest round-trip digits, `.0` for integral values, exponent outside 1e-4 ≤ |x| < 1e16. */
export function floatRepr(x: number): string {
  const ax = Math.abs(x);
  if (ax >= 1e-4 && ax < 1e16) {
    if (!Number.isInteger(x)) {
      const short = shortDecimal(x);
      if (short !== undefined) return short;
    }
    // Both languages print the shortest round-trip digits; in this range JS uses no exponent.
    const s = String(x);
    return s.includes('.') ? s : s + '.0';
  }
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const exp = x.toExponential(); // shortest digits, e.g. "1.5e-7"
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exp)!;
  const sign = m[1]!;
  const digits = m[2]! + (m[3] ?? '');
  const e = Number(m[4]);
  const decpt = e + 1; // position of the decimal point relative to the digits
  if (decpt > 16 || decpt < -3) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ee = Math.abs(e) < 10 ? `0${Math.abs(e)}` : String(Math.abs(e));
    return `${sign}${mant}e${e < 0 ? '-' : '+'}${ee}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The shortest round-trip digits of a non-integral x with 1e-4 <= |x| < 1e16 when they number 15
 * or fewer (prices, rounded values): what String(x) prints, several times faster. For d = 1, 2, …
 * fractional digits, k = round(x·10^d) is the only candidate with d digits while |x·10^d| < 1e15
 * (the product is off by far less than 0.5 there), and k / 10^d — an exactly rounded division —
 * equals x exactly when that decimal reads back as x. Fifteen significant digits never name two
 * doubles, so the first d that round-trips gives String's digits. undefined: more digits needed.
 */
function shortDecimal(x: number): string | undefined {
  for (let d = 1; d < 16; d++) {
    const p = POW10[d]!;
    const y = x * p;
    if (!(y < 1e15 && y > -1e15)) return undefined;
    const k = Math.round(y);
    if (k / p === x) {
      const digits = String(k < 0 ? -k : k);
      const sign = k < 0 ? '-' : '';
      const cut = digits.length - d;
      return cut > 0 ? sign + digits.slice(0, cut) + '.' + digits.slice(cut) : sign + '0.' + '0'.repeat(-cut) + digits;
    }
  }
  return undefined;
}

export function intStr(v: number | bigint): string {
  if (typeof v === 'bigint') return v.toString();
  return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
}

// ---------------------------------------------------------------- type names (for messages)

export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (isFloat(v)) return 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof Markup) return 'Markup';
  if (v instanceof PyTuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (isDict(v)) return 'dict';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof Undefined) return 'Undefined';
  if (v instanceof PyFunction) return v.reprText.startsWith('<built-in method') ? 'builtin_function_or_method' : 'function';
  if (v instanceof Namespace) return 'Namespace';
  if (v instanceof PyRange) return 'range';
  if (v instanceof PyGenerator) return 'generator';
  if (v instanceof DictView) return `dict_${v.kind}`;
  if (v instanceof TemplateObject) return v.typeName;
  return 'object';
}

/** Jinja2's object_type_repr: used in "'dict object' has no attribute 'x'". */
export function objectTypeRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v instanceof Markup) return 'markupsafe.Markup object';
  return `${typeName(v)} object`;
}

/** Base for runtime objects with their own attributes (loop, cycler, joiner, profile fields). */
export abstract class TemplateObject {
  abstract readonly typeName: string;
  abstract getAttr(name: string): unknown; // MISSING when absent
  abstract repr(): string;
  /** Set by objects a template can call (the loop object of a recursive loop). */
  call?(call: CallArgs): unknown;
  /** This object for a render that mutates: objects holding context data copy it with `copy`. */
  privateCopy(_copy: (v: unknown) => unknown): TemplateObject {
    return this;
  }
}

// ---------------------------------------------------------------- truthiness, str, repr

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
    const items = dictItemsRaw(v);
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

function dictItemsRaw(d: DictLike): [unknown, unknown][] {
  if (d instanceof PyDict) return d.entries();
  return Object.keys(d).map((k) => [k, d[k] === undefined ? null : d[k]]);
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
    for (const [k, v] of dictItemsRaw(a)) {
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

/** A Map key with Python hash/eq semantics for hashable values; throws for unhashable ones. */
export function hashKey(v: unknown): unknown {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v; // ints and non-integral floats
  if (typeof v === 'bigint') return v;
  if (v instanceof PyFloat) return v.v === 0 ? 0 : v.v;
  if (v instanceof Markup) return v.s;
  if (v instanceof PyTuple) return '\u0000tuple' + v.map((x) => String(hashKeyString(x))).join('\u0001');
  if (v instanceof Undefined) return '\u0000undefined';
  if (v instanceof PyBytes) return '\u0000bytes' + Array.from(v.bytes).join(',');
  if (v instanceof PyRange) return `\u0000range${v.start},${v.stop},${v.step}`;
  if (v instanceof PyFunction || v instanceof Namespace || v instanceof TemplateObject || v instanceof PyGenerator) return v;
  throw new EvalError(`unhashable type: '${typeName(v)}'`);
}

function hashKeyString(v: unknown): string {
  const k = hashKey(v);
  return typeof k === 'string' ? 's' + k : typeof k + String(k);
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

// ---------------------------------------------------------------- strings by code point

const SURROGATE = /[\uD800-\uDFFF]/;

/** Python len() of a str: code points, not UTF-16 units. */
export function strLen(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function strChars(s: string): string[] {
  return SURROGATE.test(s) ? Array.from(s) : s.split('');
}

export function hasAstral(s: string): boolean {
  return SURROGATE.test(s);
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

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v instanceof Markup ? v.s : undefined;
}
