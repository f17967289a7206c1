import { roundPy } from '../decimal.js';
import { EvalError } from '../errors.js';
import { PyFloat, isFloat, isInt, mkFloat, mkInt } from '../numbers.js';
import { Undefined, asString, toBigInt, toJsNumber, typeName } from '../values.js';
import { params, type FilterFn } from './support.js';

// Parameter lists of the filters below (allocated once, not per call).
const P_INT: [string, unknown?][] = [['default', 0], ['base', 10]];
const P_FLOAT: [string, unknown?][] = [['default', new PyFloat(0)]];
const P_ROUND: [string, unknown?][] = [['precision', 0], ['method', 'common']];

/** Numeric filters: int, float, abs, round — Python's conversion and rounding rules. */

/** Python int(str, base): optional sign, underscores between digits, surrounding whitespace. */
export function parsePyInt(s: string, base: number): bigint | null {
  if (base !== 0 && (base < 2 || base > 36)) return null;
  let t = s.trim();
  let neg = false;
  if (t.startsWith('+') || t.startsWith('-')) {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let b = base;
  const prefix = /^0([xob])/i.exec(t);
  if (prefix && (b === 0 || b === { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as 'x' | 'o' | 'b'])) {
    b = { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as 'x' | 'o' | 'b'];
    t = t.slice(2).replace(/^_/, '');
  } else if (b === 0) b = 10;
  if (t === '' || /^_|_$|__/.test(t)) return null;
  t = t.replace(/_/g, '');
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b);
  let v = 0n;
  for (const ch of t.toLowerCase()) {
    const d = digits.indexOf(ch);
    if (d < 0) return null;
    v = v * BigInt(b) + BigInt(d);
  }
  return neg ? -v : v;
}

/** Python float(str). */
export function parsePyFloat(s: string): number | null {
  const t = s.trim().replace(/(?<=\d)_(?=\d)/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
  return Number(t);
}

function toFloat(v: unknown): number | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v) || isFloat(v)) return toJsNumber(v);
  const s = asString(v);
  if (s !== undefined) return parsePyFloat(s);
  return null;
}

export const numberFilters: Record<string, FilterFn> = {
  int: (_s, v, args, kwargs) => {
    const [dflt, base] = params('int', args, kwargs, P_INT);
    if (v instanceof Undefined) v.fail(); // int(Undefined) raises in Jinja2, it is not a conversion error
    const s = asString(v);
    if (s !== undefined) {
      const r = parsePyInt(s, toJsNumber(base));
      if (r !== null) return mkInt(r);
    } else if (typeof v === 'boolean') return v ? 1 : 0;
    else if (isInt(v)) return v;
    else if (isFloat(v)) {
      const x = toJsNumber(v);
      if (!Number.isFinite(x)) return dflt;
      return mkInt(BigInt(Math.trunc(x)));
    }
    const f = s !== undefined ? parsePyFloat(s) : null;
    if (f !== null && Number.isFinite(f)) return mkInt(BigInt(Math.trunc(f)));
    return dflt;
  },
  float: (_s, v, args, kwargs) => {
    const [dflt] = params('float', args, kwargs, P_FLOAT);
    if (v instanceof Undefined) v.fail();
    const f = toFloat(v);
    if (f === null) return dflt;
    return mkFloat(f);
  },
  abs: (_s, v) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (isInt(v)) {
      const b = toBigInt(v);
      return mkInt(b < 0n ? -b : b);
    }
    if (isFloat(v)) return mkFloat(Math.abs(toJsNumber(v)));
    if (v instanceof Undefined) v.fail();
    throw new EvalError(`bad operand type for abs(): '${typeName(v)}'`);
  },
  round: (_s, v, args, kwargs) => {
    if (typeof v === 'number' && !Number.isInteger(v) && kwargs.size === 0 && args.length <= 1) {
      // `x | round(2)` on a float: Python's round with the default method
      const p = args.length === 0 ? 0 : args[0];
      if (typeof p === 'number' && Number.isInteger(p)) return mkFloat(roundPy(v, p));
    }
    const [precision, method] = params('round', args, kwargs, P_ROUND);
    const m = asString(method);
    if (m !== 'common' && m !== 'ceil' && m !== 'floor') throw new EvalError('method must be common, ceil or floor');
    if (v instanceof Undefined) v.fail();
    if (!(isInt(v) || isFloat(v) || typeof v === 'boolean')) throw new EvalError(`type ${typeName(v)} doesn't define __round__ method`);
    const p = toJsNumber(precision);
    if (m === 'common') {
      if (isInt(v) || typeof v === 'boolean') {
        // round(int, n) stays an int
        if (p >= 0) return typeof v === 'boolean' ? (v ? 1 : 0) : v;
        const scale = 10n ** BigInt(-p);
        const b = toBigInt(v);
        let q = b / scale;
        const r = b - q * scale;
        const twice = (r < 0n ? -r : r) * 2n;
        if (twice > scale || (twice === scale && (q & 1n) === 1n)) q += b < 0n ? -1n : 1n;
        return mkInt(q * scale);
      }
      return mkFloat(roundPy(toJsNumber(v), p));
    }
    const x = toJsNumber(v);
    const f = Math.pow(10, p);
    return mkFloat((m === 'ceil' ? Math.ceil(x * f) : Math.floor(x * f)) / f);
  },
};
