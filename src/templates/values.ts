import { EvalError } from './errors.js';
import { PyFloat, isFloat, isInt } from './numbers.js';

/**
 * The Python value model the evaluator works on.
 *
 *   None → null (JS `undefined` found inside context data also counts as None)
 *   bool → boolean
 *   int  → number when it is a safe integer, bigint beyond (19-digit ids stay exact)
 *   float → a non-integral JS number, or PyFloat for integral floats (`2.0`, `1e3`), so int and
 *           float stay distinct the way Python keeps them (numbers.ts)
 *   str  → string; Markup (escape.ts) is a str that is already safe
 *   list → Array; tuple → PyTuple (an Array subclass)
 *   dict → PyDict (insertion-ordered, Python key equality) or a plain JSON object from the context
 *   bytes → PyBytes
 * Plus the runtime objects templates see: Undefined, functions and bound methods, namespace, range,
 * generators, dict views, the loop object. Nothing else is reachable. How they behave as Python
 * values — str(), repr(), ==, <, truth, len(), iteration — is protocols.ts.
 */

/** A lookup table without a prototype: dynamic keys such as 'constructor' never hit Object.prototype. */
export function nullProto<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
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

/** A dict's (key, value) pairs, keys as they were given. */
export function dictEntries(d: DictLike): [unknown, unknown][] {
  if (d instanceof PyDict) return d.entries();
  return Object.keys(d).map((k) => [k, d[k] === undefined ? null : d[k]]);
}

export function dictSize(d: DictLike): number {
  return d instanceof PyDict ? d.size : Object.keys(d).length;
}

// ---------------------------------------------------------------- numbers as JavaScript numbers (int and float themselves: numbers.ts)

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

// ---------------------------------------------------------------- equality and hashing of keys

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

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v instanceof Markup ? v.s : undefined;
}
