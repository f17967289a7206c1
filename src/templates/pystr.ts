import { EvalError } from './errors.js';
import { escape } from './escape.js';
import { LIMITS, allocate, repeatStr } from './limits.js';
import { asString, hasAstral, Markup, nullProto, strChars, strLen, typeName, Undefined } from './values.js';

/**
 * Python's str algorithms the way CPython defines them, for strings indexed by code point: which
 * characters are whitespace, strip, split and rsplit, title case, center and replace. str's bound
 * methods (str-methods.ts) and the string filters both build on them.
 */

const WS = ' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

export function isPyWhitespace(ch: string): boolean {
  return WS.includes(ch);
}

export function strArg(fname: string, v: unknown, markup: boolean): string {
  if (markup && (typeof v === 'string' || v instanceof Markup)) return escape(v).s;
  const s = asString(v);
  if (s === undefined) {
    if (v instanceof Undefined) v.fail();
    throw new EvalError(`${fname}() argument must be str, not ${typeName(v)}`);
  }
  return s;
}

export function stripChars(s: string, chars: unknown, left: boolean, right: boolean, fname: string): string {
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

export function cpSlice(s: string, a: number, b: number): string {
  return hasAstral(s) ? strChars(s).slice(a, b).join('') : s.slice(a, b);
}

export function cpIndex(s: string, unitIndex: number): number {
  return hasAstral(s) ? strLen(s.slice(0, unitIndex)) : unitIndex;
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
