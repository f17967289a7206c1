import { EvalError } from './errors.js';
import { escape } from './escape.js';
import { toFixedPy } from './decimal.js';
import { LIMITS, repeatStr } from './limits.js';
import { floatRepr, intStr, isFloat, isInt, PyFloat } from './numbers.js';
import { repr, str } from './protocols.js';
import {
  asString, dictGet, isDict, Markup, MISSING, PyBytes, PyRange, PyTuple, strChars, strLen, toBigInt, toJsNumber,
  typeName, Undefined,
} from './values.js';

/**
 * Python string formatting: `'%s' % x` (printf style, also the `format` filter) and
 * `'{}'.format(x)` with the format-spec mini-language. Field lookups in `str.format`
 * (`{0.name}`, `{0[key]}`) go through the sandboxed lookup the caller passes in.
 */

// ------------------------------------------------------------------ number formatting helpers

function groupDigits(intPart: string, sep: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** Python's 'e' formatting: mantissa with `prec` decimals, exponent with at least two digits. */
function fmtExp(x: number, prec: number, upper: boolean, alt = false): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  const s = x.toExponential(Math.min(prec, 100));
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s)!;
  let mant = m[1]!;
  if (alt && !mant.includes('.')) mant += '.';
  const e = m[3]!.padStart(2, '0');
  return `${mant}${upper ? 'E' : 'e'}${m[2]}${e}`;
}

function nonFinite(x: number, upper: boolean): string {
  const s = Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  return upper ? s.toUpperCase() : s;
}

function fmtFixed(x: number, prec: number, upper = false): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  return toFixedPy(x, Math.min(prec, 100));
}

/** Python's 'g': significant digits, exponent when exp < -4 or exp >= precision, zeros stripped. */
function fmtGeneral(x: number, prec: number, upper: boolean, alt = false, keepPointZero = false): string {
  if (!Number.isFinite(x)) return nonFinite(x, upper);
  const p = prec === 0 ? 1 : prec;
  if (x === 0) return Object.is(x, -0) ? (keepPointZero ? '-0.0' : '-0') : keepPointZero ? '0.0' : '0';
  const exp = Number(/e([+-]\d+)$/.exec(x.toExponential(p - 1))![1]);
  let out: string;
  if (exp >= -4 && exp < p) {
    out = toFixedPy(x, Math.max(0, p - 1 - exp));
    if (!alt && out.includes('.')) out = out.replace(/\.?0+$/, '');
    if (keepPointZero && !out.includes('.')) out += '.0';
  } else {
    out = fmtExp(x, p - 1, upper, alt);
    if (!alt) out = out.replace(/\.?0+(?=[eE])/, '');
  }
  return out;
}

// ------------------------------------------------------------------ printf-style (%)

const PERCENT_RE = /%(?:\(([^)]*)\))?([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([diouxXeEfFgGcrsa%])?/g;

export function formatPercent(format: unknown, values: unknown): string | Markup {
  const isMarkup = format instanceof Markup;
  const fmt = asString(format)!;
  let positional: unknown[] | null = null;
  let mapping: unknown = null;
  if (values instanceof PyTuple) positional = [...values];
  else if (isDict(values) || Array.isArray(values) || values instanceof PyRange || values instanceof PyBytes || values instanceof Undefined) {
    // CPython treats any non-tuple, non-str argument with __getitem__ as a mapping here, which
    // also silences "not all arguments converted" ('abc' % [1] is 'abc').
    mapping = values;
    positional = [values];
  } else positional = [values];
  let idx = 0;
  let usedMapping = false;
  const next = (): unknown => {
    if (positional === null || idx >= positional.length) throw new EvalError('not enough arguments for format string');
    return positional[idx++];
  };
  const conv = (v: unknown): unknown => (isMarkup ? escapeArg(v) : v);
  let out = '';
  let last = 0;
  PERCENT_RE.lastIndex = 0;
  for (let m = PERCENT_RE.exec(fmt); m; m = PERCENT_RE.exec(fmt)) {
    out += fmt.slice(last, m.index);
    last = PERCENT_RE.lastIndex;
    const [, key, flags = '', widthS, precS, type] = m;
    if (type === undefined) throw new EvalError('incomplete format');
    if (type === '%' && key === undefined && !flags && !widthS && precS === undefined) {
      out += '%';
      continue;
    }
    let value: unknown;
    if (key !== undefined) {
      if (mapping === null) throw new EvalError('format requires a mapping');
      usedMapping = true;
      if (mapping instanceof Undefined) mapping.fail();
      if (!isDict(mapping)) throw new EvalError(`${typeName(mapping)} indices must be integers or slices, not str`);
      value = dictGet(mapping, key);
      if (value === MISSING) throw new EvalError(repr(key));
    }
    const width = widthS === '*' ? toJsNumber(next()) : widthS ? Number(widthS) : 0;
    const prec = precS === '*' ? toJsNumber(next()) : precS !== undefined ? Number(precS || '0') : undefined;
    if (key === undefined) value = next();
    out += percentOne(conv(value), type, flags, width, prec);
    LIMITS.checkString(out.length);
  }
  out += fmt.slice(last);
  if (!usedMapping && positional !== null && mapping === null && idx < positional.length) {
    throw new EvalError('not all arguments converted during string formatting');
  }
  return isMarkup ? new Markup(out) : out;
}

/** Markup's `%` escapes each argument (markupsafe's _MarkupEscapeHelper). */
function escapeArg(v: unknown): unknown {
  if (typeof v === 'string' || v instanceof Markup) return escape(v);
  if (isDict(v) || Array.isArray(v) || v === null || v instanceof Undefined || typeof v === 'boolean') return escape(str(v));
  return v;
}

function percentOne(v: unknown, type: string, flags: string, width: number, prec: number | undefined): string {
  const left = flags.includes('-');
  const zero = flags.includes('0') && !left;
  const plus = flags.includes('+');
  const space = flags.includes(' ');
  const alt = flags.includes('#');
  let body: string;
  let numeric = false;
  switch (type) {
    case 's':
      body = v instanceof Markup ? v.s : str(v);
      if (prec !== undefined) body = strChars(body).slice(0, prec).join('');
      break;
    case 'r':
    case 'a':
      body = repr(v);
      if (prec !== undefined) body = body.slice(0, prec);
      break;
    case 'c':
      if (isInt(v)) body = String.fromCodePoint(toJsNumber(v));
      else if (typeof v === 'string' && strLen(v) === 1) body = v;
      else throw new EvalError('%c requires int or char');
      break;
    default: {
      numeric = true;
      if (v instanceof Undefined) v.fail();
      if (!(isInt(v) || isFloat(v) || typeof v === 'boolean')) {
        throw new EvalError(`%${type} format: a ${'diouxX'.includes(type) ? 'real number' : 'real number'} is required, not ${typeName(v)}`);
      }
      if ('diu'.includes(type)) {
        body = intStr(isFloat(v) ? BigInt(Math.trunc(toJsNumber(v))) : toBigInt(v));
        if (prec !== undefined) body = padNumber(body, prec);
      } else if ('oxX'.includes(type)) {
        if (isFloat(v)) throw new EvalError(`%${type} format: an integer is required, not float`);
        const n = toBigInt(v);
        const abs = n < 0n ? -n : n;
        let digits = abs.toString(type === 'o' ? 8 : 16);
        if (type === 'X') digits = digits.toUpperCase();
        if (prec !== undefined) digits = digits.padStart(prec, '0');
        if (alt) digits = (type === 'o' ? '0o' : type === 'x' ? '0x' : '0X') + digits;
        body = (n < 0n ? '-' : '') + digits;
      } else {
        const x = toJsNumber(v);
        const p = prec ?? 6;
        if (type === 'f' || type === 'F') body = fmtFixed(x, p, type === 'F');
        else if (type === 'e' || type === 'E') body = fmtExp(x, p, type === 'E', alt);
        else body = fmtGeneral(x, p, type === 'G', alt);
      }
      if (!body.startsWith('-')) {
        if (plus) body = '+' + body;
        else if (space) body = ' ' + body;
      }
    }
  }
  const n = strLen(body);
  if (n >= width) return body;
  if (left) return body + repeatStr(' ', width - n);
  if (zero && numeric) {
    const sign = /^[-+ ]/.test(body) ? body[0]! : '';
    const rest = sign ? body.slice(1) : body;
    const prefix = /^0[xXo]/.test(rest) ? rest.slice(0, 2) : '';
    return sign + prefix + rest.slice(prefix.length).padStart(width - sign.length - prefix.length, '0');
  }
  return repeatStr(' ', width - n) + body;
}

function padNumber(digits: string, prec: number): string {
  const neg = digits.startsWith('-');
  const d = neg ? digits.slice(1) : digits;
  return (neg ? '-' : '') + d.padStart(prec, '0');
}

// ------------------------------------------------------------------ format spec (str.format, format())

const SPEC_RE = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/su;

export function formatSpec(v: unknown, spec: string): string {
  if (v instanceof Undefined) {
    if (spec === '') return '';
    v.fail();
  }
  if (spec === '') return v instanceof Markup ? v.s : str(v);
  const m = SPEC_RE.exec(spec);
  if (!m) throw new EvalError(`Invalid format specifier '${spec}' for object of type '${typeName(v)}'`);
  let [, fill, align, sign, , alt, zero, widthS, group, precS, type] = m;
  const width = widthS ? Number(widthS) : 0;
  const prec = precS !== undefined ? Number(precS) : undefined;
  let body = '';
  let numeric = true;
  const s = asString(v);
  const isNum = typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof PyFloat;
  if (!isNum) {
    if (s === undefined) throw new EvalError(`unsupported format string passed to ${typeName(v)}.__format__`);
    if (type !== undefined && type !== 's') throw new EvalError(`Unknown format code '${type}' for object of type 'str'`);
    if (sign) throw new EvalError('Sign not allowed in string format specifier');
    if (alt) throw new EvalError('Alternate form (#) not allowed in string format specifier');
    if (group) throw new EvalError(`Cannot specify '${group}' with 's'.`);
    if (align === '=') throw new EvalError("'=' alignment not allowed in string format specifier");
    if (zero && fill === undefined) fill = '0';
    body = prec !== undefined ? strChars(s).slice(0, prec).join('') : s;
    numeric = false;
    align = align ?? '<';
  } else if (zero) {
    fill = fill ?? '0';
    align = align ?? '=';
  }
  fill = fill ?? ' ';
  if (!isNum) {
    // body set above
  } else if ((isInt(v) || typeof v === 'boolean') && (type === undefined || 'bcdoxXn'.includes(type))) {
    if (prec !== undefined) throw new EvalError('Precision not allowed in integer format specifier');
    {
      const n = toBigInt(v);
      const abs = n < 0n ? -n : n;
      if (type === 'c') body = String.fromCodePoint(Number(n));
      else {
        const radix = type === 'b' ? 2 : type === 'o' ? 8 : type === 'x' || type === 'X' ? 16 : 10;
        let digits = abs.toString(radix);
        if (type === 'X') digits = digits.toUpperCase();
        if (group) digits = groupDigits(digits, group);
        if (alt && radix !== 10) digits = (type === 'b' ? '0b' : type === 'o' ? '0o' : type === 'X' ? '0X' : '0x') + digits;
        body = (n < 0n ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '') + digits;
      }
    }
  } else {
    const x = toJsNumber(v);
    let t = type;
    let out: string;
    if (t === '%') {
      out = fmtFixed(x * 100, prec ?? 6) + '%';
    } else if (t === 'f' || t === 'F') out = fmtFixed(x, prec ?? 6, t === 'F');
    else if (t === 'e' || t === 'E') out = fmtExp(x, prec ?? 6, t === 'E', !!alt);
    else if (t === 'g' || t === 'G' || t === 'n') out = fmtGeneral(x, prec ?? 6, t === 'G', !!alt);
    else if (t === undefined) {
      out = prec === undefined ? (isInt(v) ? intStr(toBigInt(v)) : floatRepr(x)) : fmtGeneral(x, prec, false, !!alt, true);
    } else throw new EvalError(`Unknown format code '${t}' for object of type '${typeName(v)}'`);
    if (group) {
      const mm = /^(-?)(\d+)(.*)$/s.exec(out);
      if (mm) out = mm[1] + groupDigits(mm[2]!, group) + mm[3];
    }
    if (!out.startsWith('-')) out = (sign === '+' ? '+' : sign === ' ' ? ' ' : '') + out;
    body = out;
  }
  align = align ?? (numeric ? '>' : '<');
  const n = strLen(body);
  if (n >= width) return body;
  const pad = width - n;
  if (align === '<') return body + repeatStr(fill, pad);
  if (align === '>') return repeatStr(fill, pad) + body;
  if (align === '^') return repeatStr(fill, Math.floor(pad / 2)) + body + repeatStr(fill, pad - Math.floor(pad / 2));
  const signCh = /^[-+ ]/.test(body) ? body[0]! : '';
  const rest = signCh ? body.slice(1) : body;
  const prefix = /^0[xXob]/.test(rest) ? rest.slice(0, 2) : '';
  return signCh + prefix + repeatStr(fill, pad) + rest.slice(prefix.length);
}

export interface FieldAccess {
  getattr(obj: unknown, name: string): unknown;
  getitem(obj: unknown, key: unknown): unknown;
}

/** `str.format(*args, **kwargs)` with the sandbox's attribute rules for `{0.x}` / `{0[k]}`. */
export function strFormat(format: string, args: unknown[], kwargs: Map<string, unknown>, access: FieldAccess, markup: boolean): string {
  let out = '';
  let auto = 0;
  let manual = false;
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c === '{') {
      if (format[i + 1] === '{') {
        out += '{';
        i += 2;
        continue;
      }
      let depth = 1;
      let j = i + 1;
      while (j < format.length && depth > 0) {
        if (format[j] === '{') depth++;
        else if (format[j] === '}') depth--;
        if (depth > 0) j++;
      }
      if (depth !== 0) throw new EvalError("expected '}' before end of string");
      const field = format.slice(i + 1, j);
      i = j + 1;
      const fm = /^([^.[!:]*)((?:\.[^.[!:]+|\[[^\]]*\])*)(?:!([rsa]))?(?::(.*))?$/s.exec(field);
      if (!fm) throw new EvalError(`invalid format field '${field}'`);
      const [, head = '', rest = '', conversion, specRaw = ''] = fm;
      let value: unknown;
      if (head === '') {
        if (manual) throw new EvalError('cannot switch from manual field specification to automatic field numbering');
        if (auto >= args.length) throw new EvalError(`Replacement index ${auto} out of range for positional args tuple`);
        value = args[auto++];
      } else if (/^\d+$/.test(head)) {
        manual = true;
        const k = Number(head);
        if (k >= args.length) throw new EvalError(`Replacement index ${k} out of range for positional args tuple`);
        value = args[k];
      } else {
        if (!kwargs.has(head)) throw new EvalError(repr(head));
        value = kwargs.get(head);
      }
      for (const part of rest.match(/\.[^.[]+|\[[^\]]*\]/g) ?? []) {
        if (part.startsWith('.')) value = access.getattr(value, part.slice(1));
        else {
          const key = part.slice(1, -1);
          value = access.getitem(value, /^\d+$/.test(key) ? Number(key) : key);
        }
      }
      if (conversion === 'r' || conversion === 'a') value = repr(value);
      else if (conversion === 's') value = str(value);
      const spec = specRaw.includes('{') ? strFormat(specRaw, args, kwargs, access, false) : specRaw;
      if (markup) value = escapeArg(value);
      out += formatSpec(value, spec);
      LIMITS.checkString(out.length);
      continue;
    }
    if (c === '}') {
      if (format[i + 1] === '}') {
        out += '}';
        i += 2;
        continue;
      }
      throw new EvalError("Single '}' encountered in format string");
    }
    const next = format.slice(i).search(/[{}]/);
    const end = next === -1 ? format.length : i + next;
    out += format.slice(i, end);
    i = end;
  }
  return out;
}
