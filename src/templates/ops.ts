import { EvalError } from './errors.js';
import { escape } from './escape.js';
import { LIMITS, allocate, repeatStr } from './limits.js';
import { formatPercent } from './format.js';
import { isFloat, isInt, isNumber, mkFloat, mkInt, PyFloat } from './numbers.js';
import { compareStrings, eq, lt } from './protocols.js';
import {
  asString, dictHas, DictView, hashKey, isDict, Markup, PyBytes, PyDict, PyGenerator, PyRange, PyTuple, toBigInt,
  toJsNumber, typeName, Undefined,
} from './values.js';

/**
 * Python's binary and unary operators over the value model: int/float promotion with exact
 * bigints, `/` always float, `//` and `%` flooring, `**` bounded, sequence concatenation and
 * repetition bounded by the size limits, Markup escaping its other operand.
 */

function undefinedCheck(a: unknown, b?: unknown): void {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
}

function numOperands(a: unknown, b: unknown): boolean {
  return isNumber(a) && isNumber(b);
}

function bothInt(a: unknown, b: unknown): boolean {
  return (isInt(a) || typeof a === 'boolean') && (isInt(b) || typeof b === 'boolean');
}

function unsupported(op: string, a: unknown, b: unknown): never {
  throw new EvalError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

function intResult(fast: number, a: unknown, b: unknown, big: (x: bigint, y: bigint) => bigint): number | bigint {
  if (Number.isSafeInteger(fast)) return fast;
  return mkInt(big(toBigInt(a), toBigInt(b)));
}

export function add(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isInteger(a) && Number.isInteger(b)) return Number.isSafeInteger(r) ? r : mkInt(toBigInt(a) + toBigInt(b));
    return mkFloat(r);
  }
  undefinedCheck(a, b);
  if (numOperands(a, b)) {
    if (bothInt(a, b)) {
      if (typeof a === 'number' && typeof b === 'number') return intResult(a + b, a, b, (x, y) => x + y);
      return mkInt(toBigInt(a) + toBigInt(b));
    }
    return mkFloat(toJsNumber(a) + toJsNumber(b));
  }
  if (a instanceof Markup || b instanceof Markup) {
    if ((typeof a === 'string' || a instanceof Markup) && (typeof b === 'string' || b instanceof Markup)) {
      return sized(new Markup(escape(a).s + escape(b).s));
    }
  }
  if (typeof a === 'string' && typeof b === 'string') {
    LIMITS.checkString(a.length + b.length);
    return a + b;
  }
  if (Array.isArray(a) && Array.isArray(b) && a instanceof PyTuple === b instanceof PyTuple) {
    LIMITS.checkItems(a.length + b.length);
    return a instanceof PyTuple ? PyTuple.of2([...a, ...b]) : [...a, ...b];
  }
  if (typeof a === 'string') throw new EvalError(`can only concatenate str (not "${typeName(b)}") to str`);
  if (Array.isArray(a) && !(a instanceof PyTuple)) throw new EvalError(`can only concatenate list (not "${typeName(b)}") to list`);
  if (a instanceof PyTuple) throw new EvalError(`can only concatenate tuple (not "${typeName(b)}") to tuple`);
  unsupported('+', a, b);
}

function sized(m: Markup): Markup {
  LIMITS.checkString(m.s.length);
  return m;
}

export function sub(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (Number.isInteger(a) && Number.isInteger(b)) return Number.isSafeInteger(r) ? r : mkInt(toBigInt(a) - toBigInt(b));
    return mkFloat(r);
  }
  undefinedCheck(a, b);
  if (!numOperands(a, b)) unsupported('-', a, b);
  if (bothInt(a, b)) {
    if (typeof a === 'number' && typeof b === 'number') return intResult(a - b, a, b, (x, y) => x - y);
    return mkInt(toBigInt(a) - toBigInt(b));
  }
  return mkFloat(toJsNumber(a) - toJsNumber(b));
}

function repeatCount(n: unknown): number {
  const c = toBigInt(n);
  return c <= 0n ? 0 : c > BigInt(LIMITS.maxString) ? LIMITS.maxString + 1 : Number(c);
}

export function mul(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (Number.isInteger(a) && Number.isInteger(b)) return Number.isSafeInteger(r) ? r : mkInt(toBigInt(a) * toBigInt(b));
    return mkFloat(r);
  }
  undefinedCheck(a, b);
  if (numOperands(a, b)) {
    if (bothInt(a, b)) {
      if (typeof a === 'number' && typeof b === 'number') return intResult(a * b, a, b, (x, y) => x * y);
      const r = toBigInt(a) * toBigInt(b);
      LIMITS.checkIntBits(r);
      return mkInt(r);
    }
    return mkFloat(toJsNumber(a) * toJsNumber(b));
  }
  if ((isInt(a) || typeof a === 'boolean') && !isNumber(b)) return mul(b, a);
  if (isInt(b) || typeof b === 'boolean') {
    const n = repeatCount(b);
    if (typeof a === 'string' || a instanceof Markup) {
      const s = asString(a)!;
      LIMITS.checkString(s.length * n);
      return a instanceof Markup ? new Markup(repeatStr(s, n)) : repeatStr(s, n);
    }
    if (Array.isArray(a)) {
      LIMITS.checkItems(a.length * n);
      allocate(a.length * n * 8);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) for (const x of a) out.push(x);
      return a instanceof PyTuple ? PyTuple.of2(out) : out;
    }
  }
  if (isFloat(b) && (typeof a === 'string' || Array.isArray(a))) {
    throw new EvalError(`can't multiply sequence by non-int of type 'float'`);
  }
  unsupported('*', a, b);
}

function zeroDivision(msg: string): never {
  throw new EvalError(msg);
}

export function truediv(a: unknown, b: unknown): unknown {
  undefinedCheck(a, b);
  if (!numOperands(a, b)) unsupported('/', a, b);
  if (bothInt(a, b)) {
    if (toBigInt(b) === 0n) zeroDivision('division by zero');
    if (typeof a === 'bigint' || typeof b === 'bigint') return mkFloat(Number(toBigInt(a)) / Number(toBigInt(b)));
  }
  const y = toJsNumber(b);
  if (y === 0) zeroDivision(bothInt(a, b) ? 'division by zero' : 'float division by zero');
  return mkFloat(toJsNumber(a) / y);
}

export function floordiv(a: unknown, b: unknown): unknown {
  undefinedCheck(a, b);
  if (!numOperands(a, b)) unsupported('//', a, b);
  if (bothInt(a, b)) {
    const x = toBigInt(a);
    const y = toBigInt(b);
    if (y === 0n) zeroDivision('integer division or modulo by zero');
    let q = x / y;
    if ((x % y !== 0n) && ((x < 0n) !== (y < 0n))) q -= 1n;
    return mkInt(q);
  }
  const y = toJsNumber(b);
  if (y === 0) zeroDivision('float floor division by zero');
  return new PyFloat(Math.floor(toJsNumber(a) / y));
}

export function mod(a: unknown, b: unknown): unknown {
  // str.__mod__ runs first in Python, so `'x' % undefined` formats (and only fails if it reads it)
  if (typeof a === 'string' || a instanceof Markup) return formatPercent(a, b);
  undefinedCheck(a, b);
  if (!numOperands(a, b)) unsupported('%', a, b);
  if (bothInt(a, b)) {
    if (typeof a === 'number' && typeof b === 'number') {
      if (b === 0) zeroDivision('integer division or modulo by zero');
      const r = a % b;
      return r !== 0 && (r < 0) !== (b < 0) ? r + b : r === 0 ? 0 : r;
    }
    const x = toBigInt(a);
    const y = toBigInt(b);
    if (y === 0n) zeroDivision('integer division or modulo by zero');
    const r = x % y;
    return mkInt(r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r);
  }
  const x = toJsNumber(a);
  const y = toJsNumber(b);
  if (y === 0) zeroDivision('float modulo');
  let r = x % y;
  if (r !== 0 && (r < 0) !== (y < 0)) r += y;
  else if (r === 0) r = y < 0 ? -0 : 0;
  return mkFloat(r);
}

export function pow(a: unknown, b: unknown): unknown {
  undefinedCheck(a, b);
  if (!numOperands(a, b)) unsupported('** or pow()', a, b);
  if (bothInt(a, b)) {
    const x = toBigInt(a);
    const y = toBigInt(b);
    if (y >= 0n) {
      // Bound the result before computing it: bits(x**y) ≈ y·bits(x).
      const bits = x === 0n || x === 1n || x === -1n ? 1n : BigInt(x < 0n ? (-x).toString(2).length : x.toString(2).length) * y;
      if (bits > BigInt(LIMITS.maxIntBits)) {
        throw new EvalError(`integer result of ${x}**${y} is too large (limit ${LIMITS.maxIntBits} bits)`, 'limit');
      }
      return mkInt(x ** y);
    }
    if (x === 0n) zeroDivision('0.0 cannot be raised to a negative power');
    return mkFloat(Math.pow(Number(x), Number(y)));
  }
  const x = toJsNumber(a);
  const y = toJsNumber(b);
  if (x === 0 && y < 0) zeroDivision('0.0 cannot be raised to a negative power');
  if (x < 0 && !Number.isInteger(y)) throw new EvalError('complex results are not supported');
  const r = Math.pow(x, y);
  if (!Number.isFinite(r) && Number.isFinite(x) && Number.isFinite(y)) throw new EvalError("(34, 'Numerical result out of range')");
  return mkFloat(r);
}

export function neg(a: unknown): unknown {
  undefinedCheck(a);
  if (typeof a === 'boolean') return a ? -1 : 0;
  if (typeof a === 'number') return Number.isInteger(a) ? mkInt(a === 0 ? 0 : -a) : -a;
  if (typeof a === 'bigint') return mkInt(-a);
  if (a instanceof PyFloat) return new PyFloat(-a.v);
  throw new EvalError(`bad operand type for unary -: '${typeName(a)}'`);
}

export function pos(a: unknown): unknown {
  undefinedCheck(a);
  if (typeof a === 'boolean') return a ? 1 : 0;
  if (isNumber(a)) return a;
  throw new EvalError(`bad operand type for unary +: '${typeName(a)}'`);
}

/** Python `item in container`. */
export function contains(container: unknown, item: unknown): boolean {
  if (typeof container === 'string' || container instanceof Markup) {
    const needle = asString(item);
    if (needle === undefined) {
      if (item instanceof Undefined) item.fail();
      throw new EvalError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
    }
    return asString(container)!.includes(needle);
  }
  if (Array.isArray(container)) {
    for (const x of container) if (eq(x, item)) return true;
    return false;
  }
  if (container instanceof PyDict) return container.has(item);
  if (isDict(container)) {
    hashKey(item);
    return dictHas(container, item);
  }
  if (container instanceof PyRange) {
    if (!isInt(item) && typeof item !== 'boolean') return container.toArray().some((x) => eq(x, item));
    const n = toJsNumber(item);
    if (container.step > 0 ? n < container.start || n >= container.stop : n > container.start || n <= container.stop) return false;
    return (n - container.start) % container.step === 0;
  }
  if (container instanceof PyGenerator) return container.take().some((x) => eq(x, item));
  if (container instanceof DictView) return container.items().some((x) => eq(x, item));
  if (container instanceof PyBytes) {
    if (isInt(item)) return container.bytes.includes(toJsNumber(item));
    throw new EvalError("a bytes-like object is required, not '" + typeName(item) + "'");
  }
  if (container instanceof Undefined) return false;
  throw new EvalError(`argument of type '${typeName(container)}' is not iterable`);
}

export function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case 'eq': return eq(a, b);
    case 'ne': return !eq(a, b);
    case 'lt': return lt(a, b, '<');
    case 'gt': return lt(b, a, '>');
    case 'lteq': return le(a, b, '<=');
    case 'gteq': return le(b, a, '>=');
    case 'in': return contains(b, a);
    case 'notin': return !contains(b, a);
  }
  throw new EvalError(`unknown comparison ${op}`);
}

/** Python `<=` (a TypeError for unorderable values, even equal ones such as None <= None). */
function le(a: unknown, b: unknown, op: string): boolean {
  if (isNumber(a) && isNumber(b)) {
    if ((typeof a === 'bigint' || typeof b === 'bigint') && !isFloat(a) && !isFloat(b)) return toBigInt(a) <= toBigInt(b);
    return toJsNumber(a) <= toJsNumber(b);
  }
  const sa = asString(a);
  const sb = asString(b);
  if (sa !== undefined && sb !== undefined) return compareStrings(sa, sb) <= 0;
  if (Array.isArray(a) && Array.isArray(b) && a instanceof PyTuple === b instanceof PyTuple) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (!eq(a[i], b[i])) return lt(a[i], b[i], op);
    return a.length <= b.length;
  }
  return lt(a, b, op);
}

/** The `~` operator: both sides as strings; Markup-aware when autoescaping. */
export function concat(a: unknown, b: unknown, autoescape: boolean, toStr: (v: unknown) => string): unknown {
  if (autoescape && (a instanceof Markup || b instanceof Markup)) {
    const r = new Markup(escape(a).s + escape(b).s);
    LIMITS.checkString(r.s.length);
    return r;
  }
  const r = toStr(a) + toStr(b);
  LIMITS.checkString(r.length);
  return r;
}

