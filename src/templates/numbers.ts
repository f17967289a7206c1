/**
 * Python's int and float over JavaScript numbers: an int is a number while it is a safe integer and
 * a bigint beyond; a float is a non-integral number or a PyFloat for an integral one (`2.0`), so
 * the two stay distinct; floats print like Python's repr.
 */

export class PyFloat {
  constructor(readonly v: number) {}
}

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
