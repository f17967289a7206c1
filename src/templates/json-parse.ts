import { EvalError } from './errors.js';
import { LIMITS, allocate, charge } from './limits.js';
import { PyFloat } from './numbers.js';
import { PyDict } from './values.js';

/**
 * json.loads with Python's rules: int vs float kept (`10.0` stays a float, a 19-digit id stays an
 * exact int), key order kept, NaN/Infinity literals accepted, Python's error messages. Native
 * JSON.parse does the work wherever it cannot lose any of that.
 */

/**
 * Candidates for the places where the native parser would lose what Python keeps: a digit followed
 * by an exponent (`1e3` is a float), by seven more digits (16+ digits can hold an int beyond 2^53,
 * or a fraction that rounds to an integral float), by `.0` (`10.0`), or by the closing quote of a
 * key (integer-like keys come first in a plain object, not in document order). One pass of a regex
 * that starts at digits only, cheaper than a pattern anchored at every `:`, `,` and `[`; each
 * candidate is then checked exactly (`exactNeeded`).
 */
const CANDIDATE = /\d(?:[eE]|\d{7}|"\s*:|\.0)/g;
const NUMBER_TOKEN = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

function isNumberChar(c: number): boolean {
  // 0-9 . + - e E
  return (c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** The code of the first non-whitespace character before `i`, or -1 at the start. */
function before(s: string, i: number): number {
  while (i > 0 && isSpace(s.charCodeAt(i - 1))) i--;
  return i > 0 ? s.charCodeAt(i - 1) : -1;
}

/**
 * Whether JSON.parse would give a different value than Python's json.loads for this text. Only a
 * candidate in value position (after `:`, `,`, `[` or at the start) can be a number, and only one
 * after `{` or `,` a key; a candidate inside a string that looks like one of those merely costs the
 * exact parser. A number token is decided by its own value: an int token needs the exact parser
 * when it is beyond 2^53, a fraction or exponent token when its value is integral (Python keeps
 * `10.0` a float; the native parser returns the integer 10).
 */
function exactNeeded(s: string): boolean {
  const re = CANDIDATE;
  re.lastIndex = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const digit = m.index;
    if (s.charCodeAt(digit + 1) === 34) {
      // `…9"` then `:`: an integer-like key when the quoted text is all digits
      let k = digit;
      while (k > 0 && s.charCodeAt(k - 1) >= 48 && s.charCodeAt(k - 1) <= 57) k--;
      if (k > 0 && s.charCodeAt(k - 1) === 34) {
        const prev = before(s, k - 1);
        if (prev === 123 || prev === 44) return true;
      }
      re.lastIndex = digit + 2;
      continue;
    }
    let start = digit;
    while (start > 0 && isNumberChar(s.charCodeAt(start - 1))) start--;
    let end = digit + 1;
    while (end < s.length && isNumberChar(s.charCodeAt(end))) end++;
    re.lastIndex = end;
    const prev = before(s, start);
    if (prev !== -1 && prev !== 58 && prev !== 44 && prev !== 91) {
      // Not a value (inside a string, or a key such as "4294967294"): resume at its last character,
      // which may still close an integer-like key. A candidate spans 2+ characters, so this advances.
      re.lastIndex = end - 1;
      continue;
    }
    const token = s.slice(start, end);
    const parts = NUMBER_TOKEN.exec(token);
    if (parts === null) return true; // not valid JSON here; the exact parser reports it
    const value = Number(token);
    if (parts[1] === undefined && parts[2] === undefined ? !Number.isSafeInteger(value) : Number.isInteger(value)) return true;
  }
  return false;
}

export function parseJson(text: string): unknown {
  charge(text.length >> 8);
  allocate(text.length * 4);
  if (!exactNeeded(text)) {
    try {
      // Plain objects are dicts to the evaluator; every number here is exact and typed correctly.
      return JSON.parse(text);
    } catch {
      // fall through: the exact parser accepts NaN/Infinity and reports Python's error messages
    }
  }
  return new JsonParser(text).parseTop();
}

/** json.loads by the exact parser alone: the reference parseJson's fast path must agree with. */
export function parseJsonExact(text: string): unknown {
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
    if (++this.depth > LIMITS.maxJsonDepth) throw new EvalError('JSON document is nested too deeply', 'limit');
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
      if (!this.another('}')) break;
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
      if (!this.another(']')) break;
    }
    this.depth--;
    return a;
  }

  /** After a member: true when `,` announces another one, false at `close` (both consumed). */
  private another(close: '}' | ']'): boolean {
    this.ws();
    const c = this.s[this.i];
    if (c === ',') {
      this.i++;
      this.ws();
      return true;
    }
    if (c === close) {
      this.i++;
      return false;
    }
    return this.fail("Expecting ',' delimiter");
  }
}
