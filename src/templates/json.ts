import { allocate, charge, repeatStr } from './limits.js';
import { EvalError } from './errors.js';
import {
  Markup, PyDict, PyFloat, Undefined, compareStrings, dictGet, floatRepr, intStr, isDict, isFloat, isInt,
  MISSING, typeName, type DictLike, nullProto,
} from './values.js';

/**
 * JSON in and out with Python's rules.
 * - parseJson = json.loads: keeps int vs float (`10.0` stays a float, a 19-digit id stays an exact
 *   int), key order, NaN/Infinity literals, Python's error messages.
 * - dumps = json.dumps with the options Jinja2's `tojson` (sort_keys, htmlsafe) and the reference's
 *   `json_encode` (default formatting) use.
 */

const MAX_DEPTH = 1000;

/**
 * Where the native parser would lose information Python keeps: integer-like object keys (plain
 * objects reorder them), integral floats (`10.0`, `1e3`), ints beyond 2^53 — each recognised as a
 * value after `:`, `,` or `[` (so ids and UUIDs inside strings do not trigger it). A match inside a
 * string only costs the slower exact parser, never correctness.
 */
const NEEDS_EXACT = /(?:^|[:,[])\s*-?(?:\d+\.0+(?!\d)|\d+(?:\.\d+)?[eE]|\d{16})|[{,]\s*"\d+"\s*:/;

export function parseJson(text: string): unknown {
  charge(text.length >> 8);
  allocate(text.length * 4);
  if (!NEEDS_EXACT.test(text)) {
    try {
      // Plain objects are dicts to the evaluator; every number here is exact and typed correctly.
      return JSON.parse(text);
    } catch {
      // fall through: the exact parser accepts NaN/Infinity and reports Python's error messages
    }
  }
  return new JsonParser(text).parseTop();
}

const SIMPLE_STRING = /"([^"\\\x00-\x1f]*)"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;

class JsonParser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  private fail(msg: string, at = this.i): never {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at; k++) {
      if (this.s.charCodeAt(k) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    throw new EvalError(`${msg}: line ${line} column ${col} (char ${at})`);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  parseTop(): unknown {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('Extra data');
    return v;
  }

  private value(): unknown {
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case '{': return this.object();
      case '[': return this.array();
      case '"': return this.string();
      case 't':
        if (s.startsWith('true', this.i)) { this.i += 4; return true; }
        break;
      case 'f':
        if (s.startsWith('false', this.i)) { this.i += 5; return false; }
        break;
      case 'n':
        if (s.startsWith('null', this.i)) { this.i += 4; return null; }
        break;
      case 'N':
        if (s.startsWith('NaN', this.i)) { this.i += 3; return NaN; }
        break;
      case 'I':
        if (s.startsWith('Infinity', this.i)) { this.i += 8; return Infinity; }
        break;
      case '-':
        if (s.startsWith('-Infinity', this.i)) { this.i += 9; return -Infinity; }
        return this.number();
      default:
        if (c !== undefined && c >= '0' && c <= '9') return this.number();
    }
    this.fail('Expecting value');
  }

  private number(): unknown {
    const re = NUMBER;
    re.lastIndex = this.i;
    const m = re.exec(this.s);
    if (!m) this.fail('Expecting value');
    this.i = re.lastIndex;
    const text = m[0];
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : BigInt(text);
    }
    const f = Number(text);
    return Number.isInteger(f) ? new PyFloat(f) : f;
  }

  private string(): string {
    SIMPLE_STRING.lastIndex = this.i;
    const m = SIMPLE_STRING.exec(this.s);
    if (m) {
      this.i = SIMPLE_STRING.lastIndex;
      return m[1]!;
    }
    const s = this.s;
    const start = this.i;
    let i = this.i + 1;
    let out = '';
    let chunk = i;
    for (;;) {
      if (i >= s.length) this.fail('Unterminated string starting at', start);
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c < 0x20) this.fail('Invalid control character at', i);
      if (c === 92) {
        out += s.slice(chunk, i);
        const e = s[i + 1];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Invalid \\uXXXX escape', i + 1);
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.fail('Invalid \\escape', i);
        }
        i += 2;
        chunk = i;
        continue;
      }
      i++;
    }
    out += s.slice(chunk, i);
    this.i = i + 1;
    return out;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new EvalError('JSON document is nested too deeply', 'limit');
  }

  private object(): PyDict {
    this.enter();
    const d = new PyDict();
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      this.depth--;
      return d;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const k = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail("Expecting ':' delimiter");
      this.i++;
      this.ws();
      d.setStr(k, this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (c === '}') {
        this.i++;
        break;
      }
      this.fail("Expecting ',' delimiter");
    }
    this.depth--;
    return d;
  }

  private array(): unknown[] {
    this.enter();
    const a: unknown[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      this.depth--;
      return a;
    }
    for (;;) {
      a.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
        continue;
      }
      if (c === ']') {
        this.i++;
        break;
      }
      this.fail("Expecting ',' delimiter");
    }
    this.depth--;
    return a;
  }
}

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

const SHORT_ESCAPES: Record<number, string> = nullProto({ 34: '\\"', 92: '\\\\', 10: '\\n', 13: '\\r', 9: '\\t', 8: '\\b', 12: '\\f' });

function hex4(c: number): string {
  return '\\u' + (c < 0x10 ? '000' : c < 0x100 ? '00' : c < 0x1000 ? '0' : '') + c.toString(16);
}

/**
 * A JSON string literal as Python's json.dumps writes it (ensure_ascii: non-ASCII as \uXXXX);
 * `htmlSafe` also writes `<>&'` as \u escapes (Jinja2's tojson).
 */
export function jsonString(s: string, ensureAscii = true, htmlSafe = false): string {
  if (!(htmlSafe ? HTML_UNSAFE_CHARS : ensureAscii ? ASCII_UNSAFE : UNSAFE).test(s)) return '"' + s + '"';
  let out = '"';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 34 || c === 92) rep = SHORT_ESCAPES[c];
    else if (c < 0x20) rep = SHORT_ESCAPES[c] ?? hex4(c);
    else if (c > 0x7e) {
      if (ensureAscii) rep = hex4(c);
    } else if (htmlSafe && (c === 60 || c === 62 || c === 38 || c === 39)) rep = hex4(c);
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
  if (level > MAX_DEPTH) throw new EvalError('value is nested too deeply for JSON', 'limit');
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
  if (isDict(v)) {
    let keys = v instanceof PyDict ? v.keys() : Object.keys(v);
    if (keys.length === 0) return '{}';
    if (d.sortKeys) keys = [...keys].sort(sortKey);
    let out = '{' + nl;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const val = dictGet(v as DictLike, k);
      if (i > 0) out += d.itemSep + nl;
      out += jsonString(keyString(k), d.ensureAscii, d.htmlSafe) + d.keySep + encode(val === MISSING ? null : val, level + 1, d);
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
  if (typeof value === 'number' && Number.isSafeInteger(value)) return new Markup(String(value));
  return new Markup(dumps(value, { sortKeys: true, indent, htmlSafe: true }));
}

