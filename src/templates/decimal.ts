/**
 * Exact decimal rounding of binary doubles, as CPython does it (round-half-even on the exact
 * value): `round(2.675, 2)` is 2.67, `'%.1f' % 0.25` is '0.2'. JavaScript's toFixed rounds exact
 * ties away from zero, so ties are resolved here with BigInt arithmetic.
 */

function decompose(x: number): { mant: bigint; exp: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const rawExp = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (rawExp === 0) return { mant: frac, exp: -1074 };
  return { mant: frac | (1n << 52n), exp: rawExp - 1075 };
}

/** |x| · 10^digits rounded half-even to an integer (digits may be negative). */
export function scaledRound(x: number, digits: number): bigint {
  const { mant, exp } = decompose(x);
  let num = mant;
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  if (digits >= 0) num *= 10n ** BigInt(digits);
  else den *= 10n ** BigInt(-digits);
  const q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** Python's `'%.Nf' % x` / `format(x, '.Nf')` for finite x. */
export function toFixedPy(x: number, digits: number): string {
  if (Math.abs(x) < 1e21 && digits <= 20) {
    const s = x.toFixed(digits);
    // Only exact ties can differ; a tie needs |x|·10^d to have a fractional part of exactly .5.
    const scaled = Math.abs(x) * 10 ** digits;
    if (Math.abs(scaled - Math.trunc(scaled) - 0.5) > 1e-6) return s;
  }
  const q = scaledRound(x, digits);
  let str = q.toString();
  if (digits > 0) {
    str = str.padStart(digits + 1, '0');
    str = `${str.slice(0, str.length - digits)}.${str.slice(str.length - digits)}`;
  }
  const negative = x < 0 || Object.is(x, -0);
  return negative ? '-' + str : str;
}

const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Python's round(x, n) for a float: the correctly rounded double nearest the decimal result. */
export function roundPy(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (digits > 308) return x;
  if (digits >= 0 && digits <= 15) {
    // Scaling by an exact power of ten errs by at most one unit in the last place; away from a tie
    // that cannot change the rounded integer, and k / 10^d is then the correctly rounded result.
    const p = POW10[digits]!;
    const y = Math.abs(x) * p;
    if (y < 2 ** 52) {
      const fl = Math.floor(y);
      const fr = y - fl;
      if (Math.abs(fr - 0.5) > y * 4.5e-16 + 1e-12) {
        const r = (fr > 0.5 ? fl + 1 : fl) / p;
        return x < 0 ? -r : r;
      }
    }
  }
  if (digits >= 0 && digits <= 20 && Math.abs(x) < 1e21) {
    // toFixed rounds the exact binary value; only exact ties (where Python rounds half to even) differ.
    const scaled = Math.abs(x) * 10 ** digits;
    if (Math.abs(scaled - Math.trunc(scaled) - 0.5) > 1e-6) return Number(x.toFixed(digits));
  }
  const q = scaledRound(x, digits);
  const r = Number(`${q}e${-digits}`);
  return x < 0 ? -r : r;
}
