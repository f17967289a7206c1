import { EvalError } from './errors.js';
import { LIMITS, allocate, charge, repeatStr } from './limits.js';
import { floatRepr, intStr, isFloat, isInt, PyFloat } from './numbers.js';
import { compareStrings } from './protocols.js';
import { hasAstral, isPlainObject, Markup, MISSING, PyDict, typeName, Undefined } from './values.js';

/**
 * json.dumps with the options Jinja2's `tojson` (sort_keys, htmlsafe) and the reference's
 * `json_encode` (default formatting) use.
 */

export interface DumpOptions {
  /** Jinja2's htmlsafe_json_dumps: `<>&'` as \u escapes. */
  htmlSafe?: boolean;
  sortKeys?: boolean;
  itemSep?: string;
  keySep?: string;
  indent?: string | null;
  ensureAscii?: boolean;
}


const ASCII_UNSAFE = /[\\"]|[^ -~]/;
const UNSAFE = /[\\"\x00-\x1f]/;
const HTML_UNSAFE_CHARS = /[\\"<>&']|[^ -~]/;

function hex4(c: number): string {
  return '\\u' + (c < 0x10 ? '000' : c < 0x100 ? '00' : c < 0x1000 ? '0' : '') + c.toString(16);
}

/**
 * What json.dumps writes for each ASCII character below DEL (undefined: written as is), without
 * and with Jinja2's htmlsafe `<>&'`: built once, so escaping is a table lookup per character.
 */
const ASCII_ESCAPES: (string | undefined)[] = [];
const HTML_ASCII_ESCAPES: (string | undefined)[] = [];
const SHORT_ESCAPES: Record<number, string> = { 34: '\\"', 92: '\\\\', 10: '\\n', 13: '\\r', 9: '\\t', 8: '\\b', 12: '\\f' };
for (let c = 0; c < 0x7f; c++) {
  const plain = SHORT_ESCAPES[c] ?? (c < 0x20 ? hex4(c) : undefined);
  ASCII_ESCAPES.push(plain);
  HTML_ASCII_ESCAPES.push(plain ?? (c === 60 || c === 62 || c === 38 || c === 39 ? hex4(c) : undefined));
}

/**
 * A JSON string literal as Python's json.dumps writes it (ensure_ascii: non-ASCII as \uXXXX);
 * `htmlSafe` also writes `<>&'` as \u escapes (Jinja2's tojson).
 */
export function jsonString(s: string, ensureAscii = true, htmlSafe = false): string {
  if (!(htmlSafe ? HTML_UNSAFE_CHARS : ensureAscii ? ASCII_UNSAFE : UNSAFE).test(s)) return '"' + s + '"';
  const table = htmlSafe ? HTML_ASCII_ESCAPES : ASCII_ESCAPES;
  let out = '"';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const rep = c < 0x7f ? table[c] : ensureAscii ? hex4(c) : undefined;
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return out + s.slice(last) + '"';
}

function floatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return floatRepr(x);
}

function keyString(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k instanceof Markup) return k.s;
  if (k === null || k === undefined) return 'null';
  if (k === true) return 'true';
  if (k === false) return 'false';
  if (isInt(k)) return intStr(k as number | bigint);
  if (isFloat(k)) return floatJson(k instanceof PyFloat ? k.v : (k as number));
  throw new EvalError(`keys must be str, int, float, bool or None, not ${typeName(k)}`);
}

function sortKey(a: unknown, b: unknown): number {
  const sa = typeof a === 'string' ? a : a instanceof Markup ? a.s : undefined;
  const sb = typeof b === 'string' ? b : b instanceof Markup ? b.s : undefined;
  if (sa !== undefined && sb !== undefined) return compareStrings(sa, sb);
  if (sa === undefined && sb === undefined) {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  throw new EvalError(`'<' not supported between instances of '${typeName(b)}' and '${typeName(a)}'`);
}

/**
 * sort_keys: strings without surrogates sort the same by UTF-16 unit (the native sort) as by code
 * point (Python); anything else takes Python's comparison.
 */
function sortKeysInPlace(keys: unknown[]): void {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k !== 'string' || hasAstral(k)) {
      keys.sort(sortKey);
      return;
    }
  }
  keys.sort();
}

interface Dumper {
  htmlSafe: boolean;
  indent: string | null;
  itemSep: string;
  keySep: string;
  ensureAscii: boolean;
  sortKeys: boolean;
}

export function dumps(value: unknown, opts: DumpOptions = {}): string {
  const out = dumpsUncharged(value, opts);
  charge(out.length >> 8);
  allocate(out.length * 2);
  return out;
}

function dumpsUncharged(value: unknown, opts: DumpOptions): string {
  const indent = opts.indent ?? null;
  const d: Dumper = {
    htmlSafe: opts.htmlSafe ?? false,
    indent,
    itemSep: opts.itemSep ?? (indent !== null ? ',' : ', '),
    keySep: opts.keySep ?? ': ',
    ensureAscii: opts.ensureAscii ?? true,
    sortKeys: opts.sortKeys ?? false,
  };
  return encode(value, 0, d);
}

function encode(v: unknown, level: number, d: Dumper): string {
  if (level > LIMITS.maxJsonDepth) throw new EvalError('value is nested too deeply for JSON', 'limit');
  if (typeof v === 'string') return jsonString(v, d.ensureAscii, d.htmlSafe);
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatJson(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof PyFloat) return floatJson(v.v);
  if (v instanceof Markup) return jsonString(v.s, d.ensureAscii, d.htmlSafe);
  const nl = d.indent !== null ? '\n' + repeatStr(d.indent, level + 1) : '';
  const close = d.indent !== null ? '\n' + repeatStr(d.indent, level) : '';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    let out = '[' + nl;
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += d.itemSep + nl;
      out += encode(v[i], level + 1, d);
    }
    return out + close + ']';
  }
  if (v instanceof PyDict) {
    const keys = v.keys(); // a fresh array: sorted in place
    if (keys.length === 0) return '{}';
    if (d.sortKeys) sortKeysInPlace(keys);
    let out = '{' + nl;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const val = v.get(k);
      if (i > 0) out += d.itemSep + nl;
      out += jsonString(keyString(k), d.ensureAscii, d.htmlSafe) + d.keySep + encode(val === MISSING ? null : val, level + 1, d);
    }
    return out + close + '}';
  }
  if (isPlainObject(v)) {
    // JSON parsed by from_json or context data: own string keys only, read directly
    const keys = Object.keys(v);
    if (keys.length === 0) return '{}';
    if (d.sortKeys) sortKeysInPlace(keys);
    let out = '{' + nl;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const val = v[k];
      if (i > 0) out += d.itemSep + nl;
      out += jsonString(k, d.ensureAscii, d.htmlSafe) + d.keySep + encode(val === undefined ? null : val, level + 1, d);
    }
    return out + close + '}';
  }
  if (v instanceof Undefined) throw new EvalError('Object of type Undefined is not JSON serializable');
  throw new EvalError(`Object of type ${typeName(v)} is not JSON serializable`);
}

/** Jinja2's tojson: sorted keys, then `<>&'` as \u escapes so the result is safe in HTML. */
export function htmlsafeJsonDumps(value: unknown, indent: string | null): Markup {
  // Scalars (the usual `{{ x | tojson }}` inside a hand-written JSON body) skip the generic encoder.
  if (typeof value === 'string') return new Markup(jsonString(value, true, true));
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return new Markup(String(value));
    if (Number.isFinite(value) && !Number.isInteger(value)) return new Markup(floatRepr(value));
  }
  if (value === null || value === undefined) return new Markup('null');
  if (typeof value === 'boolean') return new Markup(value ? 'true' : 'false');
  return new Markup(dumps(value, { sortKeys: true, indent, htmlSafe: true }));
}
