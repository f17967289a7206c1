import { repeatStr } from './limits.js';
import { EvalError } from './errors.js';
import {  Markup, PyDict, PyFloat, PyTuple, Undefined, compareStrings, dictGet, floatRepr, intStr, isDict, isFloat, isInt,
  MISSING, typeName, type DictLike, nullProto } from './values.js';

/**
 * JSON in and out with Python's rules.
 * - parseJson = json.loads: keeps int vs float (`10.0` stays a float, a 19-digit id stays an exact
 *   int), key order, NaN/Infinity literals, Python's error messages.
 * - dumps = json.dumps with the options Jinja2's `tojson` (sort_keys, htmlsafe) and the reference's
 *   `json_encode` (default formatting) use.
 */

const MAX_DEPTH = 1000;

export function parseJson(text: string): unknown {
  return new JsonParser(text).parseTop();
}

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
    const re = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
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
  sortKeys?: boolean;
  itemSep?: string;
  keySep?: string;
  indent?: string | null;
  ensureAscii?: boolean;
}

const ESCAPES: Record<string, string> = nullProto({ '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' });

export function jsonString(s: string, ensureAscii = true): string {
  const re = ensureAscii ? /[\\"]|[^ -~]/g : /[\\"\x00-\x1f]/g;
  return (
    '"' +
    s.replace(re, (c) => {
      const e = ESCAPES[c];
      if (e) return e;
      return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
    }) +
    '"'
  );
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

export function dumps(value: unknown, opts: DumpOptions = {}): string {
  const indent = opts.indent ?? null;
  const itemSep = opts.itemSep ?? (indent !== null ? ',' : ', ');
  const keySep = opts.keySep ?? ': ';
  const ensureAscii = opts.ensureAscii ?? true;
  const sortKeys = opts.sortKeys ?? false;

  const enc = (v: unknown, level: number): string => {
    if (level > MAX_DEPTH) throw new EvalError('value is nested too deeply for JSON', 'limit');
    if (typeof v === 'string') return jsonString(v, ensureAscii);
    if (v === null || v === undefined) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatJson(v);
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof PyFloat) return floatJson(v.v);
    if (v instanceof Markup) return jsonString(v.s, ensureAscii);
    const nl = indent !== null ? '\n' + repeatStr(indent, level + 1) : '';
    const close = indent !== null ? '\n' + repeatStr(indent, level) : '';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + nl + v.map((x) => enc(x, level + 1)).join(itemSep + nl) + close + ']';
    }
    if (isDict(v)) {
      let keys = v instanceof PyDict ? v.keys() : Object.keys(v);
      if (keys.length === 0) return '{}';
      if (sortKeys) keys = [...keys].sort(sortKey);
      const parts = keys.map((k) => {
        const val = dictGet(v as DictLike, k);
        return jsonString(keyString(k), ensureAscii) + keySep + enc(val === MISSING ? null : val, level + 1);
      });
      return '{' + nl + parts.join(itemSep + nl) + close + '}';
    }
    if (v instanceof Undefined) throw new EvalError('Object of type Undefined is not JSON serializable');
    throw new EvalError(`Object of type ${typeName(v)} is not JSON serializable`);
  };
  return enc(value, 0);
}

/** Jinja2's tojson: sorted keys, then `<>&'` as \u escapes so the result is safe in HTML. */
export function htmlsafeJsonDumps(value: unknown, indent: string | null): Markup {
  const s = dumps(value, { sortKeys: true, indent });
  return new Markup(s.replace(/[<>&']/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
}

export { PyTuple };
