import { nullProto } from './values.js';
import { nunjucksLexer } from './nunjucks.js';
import { TemplateError } from './errors.js';

/**
 * Jinja2's lexical rules on top of nunjucks' tokenizer. The parser (parse.ts) consumes the token
 * shapes nunjucks defines; this subclass changes what differs from Jinja2 3.1:
 * - numbers: `1e3`, `1_000`, `0x1f`, `0o17`, `0b101`, and no float after a `.` (so `l.0.1` is l[0][1]);
 *   ints are exact (bigint beyond 2^53);
 * - strings: Python escapes (`\x41`, `\u00e9`, `\\`, unknown escapes kept), unterminated → error;
 * - names: `true`/`none`/`null` are plain names (the parser decides what is a literal), no `r/regex/`;
 * - brackets balance: `}}` inside `{ … }` closes a dict, not the tag;
 * - text may contain `#}`; comments and `{%+` work as in Jinja2.
 * Newlines are normalised to `\n` and one trailing newline is dropped (Jinja2's defaults).
 */

type NunjucksLexer = Record<string, unknown> & { lex(src: string, opts?: unknown): object };
const lexer = nunjucksLexer as NunjucksLexer;

export interface Token {
  type: string;
  value: any;
  lineno: number; // 0-based, as nunjucks
  colno: number; // 0-based
  pos: number; // offset of the first character
  end: number; // offset after the last character
}

export const T = {
  STRING: 'string',
  DATA: 'data',
  BLOCK_START: 'block-start',
  BLOCK_END: 'block-end',
  VARIABLE_START: 'variable-start',
  VARIABLE_END: 'variable-end',
  COMMENT: 'comment',
  LEFT_PAREN: 'left-paren',
  RIGHT_PAREN: 'right-paren',
  LEFT_BRACKET: 'left-bracket',
  RIGHT_BRACKET: 'right-bracket',
  LEFT_CURLY: 'left-curly',
  RIGHT_CURLY: 'right-curly',
  OPERATOR: 'operator',
  COMMA: 'comma',
  COLON: 'colon',
  TILDE: 'tilde',
  PIPE: 'pipe',
  INT: 'int',
  FLOAT: 'float',
  SYMBOL: 'symbol',
} as const;

// The parser base class compares against nunjucks' own token names; fail loudly if they ever change.
for (const [k, v] of Object.entries(T)) {
  if (lexer[`TOKEN_${k}`] !== v) throw new Error(`nunjucks token ${k} is no longer '${v}'`);
}

const PUNCT: Record<string, string> = nullProto({
  '(': T.LEFT_PAREN,
  ')': T.RIGHT_PAREN,
  '[': T.LEFT_BRACKET,
  ']': T.RIGHT_BRACKET,
  '{': T.LEFT_CURLY,
  '}': T.RIGHT_CURLY,
  ',': T.COMMA,
  ':': T.COLON,
  '~': T.TILDE,
  '|': T.PIPE,
});

// Jinja2 lexer.py: float_re / integer_re (case-insensitive), operators longest first.
const FLOAT_RE = /(?:\d+_)*\d+(?:(?:\.(?:\d+_)*\d+)?e[+-]?(?:\d+_)*\d+|\.(?:\d+_)*\d+)/iy;
const INT_RE = /0b(?:_?[01])+|0o(?:_?[0-7])+|0x(?:_?[\da-f])+|[1-9](?:_?\d)*|0(?:_?0)*/iy;
const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const OPERATOR_RE = /\/\/|\*\*|==|!=|>=|<=|[+\-/*%~[\](){}><=.:|,;]/y;
const WHITESPACE_RE = /\s+/y;
const STRING_RE = /'([^'\\]*(?:\\[\s\S][^'\\]*)*)'|"([^"\\]*(?:\\[\s\S][^"\\]*)*)"/y;
const ENDRAW_RE = /\{%(-?)\s*endraw\s*(-?)%\}/g;

/** Jinja2 source normalisation: `\r\n`/`\r` → `\n`, one trailing newline dropped. */
export function normalizeSource(source: string): string {
  let s = source.indexOf('\r') === -1 ? source : source.replace(/\r\n?/g, '\n');
  if (s.endsWith('\n')) s = s.slice(0, -1);
  return s;
}

/** Python's `unicode-escape` decoding as Jinja2 applies it to string literals. */
export function decodePythonEscapes(body: string): string {
  if (body.indexOf('\\') === -1) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const n = body[++i]!;
    switch (n) {
      case '\n': break; // line continuation
      case '\\': out += '\\'; break;
      case "'": out += "'"; break;
      case '"': out += '"'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x':
      case 'u':
      case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error(`truncated \\${n} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) throw new Error(`illegal Unicode character in \\${n} escape`);
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default:
        if (n >= '0' && n <= '7') {
          let oct = n;
          while (oct.length < 3 && i + 1 < body.length && body[i + 1]! >= '0' && body[i + 1]! <= '7') oct += body[++i];
          out += String.fromCodePoint(parseInt(oct, 8));
        } else {
          out += '\\' + n; // Python keeps unknown escapes verbatim
        }
    }
  }
  return out;
}

function parseIntLiteral(text: string): number | bigint {
  const t = text.replace(/_/g, '').toLowerCase();
  let big: bigint;
  if (t.startsWith('0x') || t.startsWith('0o') || t.startsWith('0b')) big = BigInt(t);
  else big = BigInt(t);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

const BaseTokenizer = (Object.getPrototypeOf(lexer.lex('')) as { constructor: new (src: string, opts?: unknown) => object })
  .constructor;

export class JinjaTokenizer extends (BaseTokenizer as new (src: string, opts?: unknown) => {
  str: string;
  index: number;
  len: number;
  lineno: number;
  colno: number;
  in_code: boolean;
  tags: Record<string, string>;
}) {
  private readonly lineStarts: number[] = [0];
  /** Open brackets in the current tag: `}}` only ends a tag when this is empty. */
  private balance: string[] = [];
  private prevWasDot = false;
  /** Set by the parser after `{% raw %}`: the next DATA token is the raw body. */
  pendingRaw: Token | null = null;

  constructor(source: string) {
    super(source);
    for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }

  position(index: number): { lineno: number; colno: number } {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return { lineno: lo, colno: index - starts[lo]! };
  }

  fail(message: string, index: number): never {
    const p = this.position(index);
    throw new TemplateError('syntax', message, p.lineno + 1, p.colno + 1);
  }

  private tok(type: string, value: unknown, start: number, end: number): Token {
    const p = this.position(start);
    this.index = end;
    return { type, value, lineno: p.lineno, colno: p.colno, pos: start, end };
  }

  nextToken(): Token | null {
    if (this.pendingRaw) {
      const t = this.pendingRaw;
      this.pendingRaw = null;
      return t;
    }
    return this.in_code ? this.codeToken() : this.dataToken();
  }

  private dataToken(): Token | null {
    const s = this.str;
    const start = this.index;
    if (start >= s.length) return null;
    if (s[start] === '{') {
      const n = s[start + 1];
      if (n === '{' || n === '%') {
        let end = start + 2;
        if (s[end] === '-' || s[end] === '+') end++;
        this.in_code = true;
        this.balance = [];
        this.prevWasDot = false;
        const text = s.slice(start, end).replace('+', '');
        return this.tok(n === '{' ? T.VARIABLE_START : T.BLOCK_START, text, start, end);
      }
      if (n === '#') {
        const close = s.indexOf('#}', start + 2);
        if (close === -1) this.fail('Missing end of comment tag', start);
        return this.tok(T.COMMENT, s.slice(start, close + 2), start, close + 2);
      }
    }
    let i = start;
    for (;;) {
      i = s.indexOf('{', i);
      if (i === -1) {
        i = s.length;
        break;
      }
      const n = s[i + 1];
      if (n === '{' || n === '%' || n === '#') break;
      i++;
    }
    return this.tok(T.DATA, s.slice(start, i), start, i);
  }

  private codeToken(): Token | null {
    const s = this.str;
    WHITESPACE_RE.lastIndex = this.index;
    if (WHITESPACE_RE.test(s)) this.index = WHITESPACE_RE.lastIndex;
    const start = this.index;
    if (start >= s.length) this.fail('unexpected end of template, expected the end of the tag', start);
    const c = s[start]!;

    if (this.balance.length === 0) {
      for (const [end, type] of [
        ['%}', T.BLOCK_END],
        ['}}', T.VARIABLE_END],
      ] as const) {
        if (s.startsWith(end, start) || (c === '-' && s.startsWith(end, start + 1))) {
          const len = c === '-' ? 3 : 2;
          this.in_code = false;
          return this.tok(type, s.slice(start, start + len), start, start + len);
        }
        if (c === '+' && s.startsWith(end, start + 1) && type === T.BLOCK_END) {
          this.in_code = false;
          return this.tok(type, end, start, start + 3);
        }
      }
    }

    const afterDot = this.prevWasDot;
    this.prevWasDot = false;

    if (c === "'" || c === '"') {
      STRING_RE.lastIndex = start;
      const m = STRING_RE.exec(s);
      if (!m) this.fail(`unexpected char ${JSON.stringify(c)}: unterminated string literal`, start);
      let value: string;
      try {
        value = decodePythonEscapes(m[1] ?? m[2] ?? '');
      } catch (err) {
        this.fail(`invalid string literal: ${(err as Error).message}`, start);
      }
      return this.tok(T.STRING, value, start, STRING_RE.lastIndex);
    }

    if (c >= '0' && c <= '9') {
      if (!afterDot) {
        FLOAT_RE.lastIndex = start;
        const f = FLOAT_RE.exec(s);
        if (f) return this.tok(T.FLOAT, Number(f[0].replace(/_/g, '')), start, FLOAT_RE.lastIndex);
      }
      INT_RE.lastIndex = start;
      const m = INT_RE.exec(s);
      if (m) return this.tok(T.INT, parseIntLiteral(m[0]), start, INT_RE.lastIndex);
    }

    NAME_RE.lastIndex = start;
    const name = NAME_RE.exec(s);
    if (name) return this.tok(T.SYMBOL, name[0], start, NAME_RE.lastIndex);

    OPERATOR_RE.lastIndex = start;
    const op = OPERATOR_RE.exec(s);
    if (op) {
      const v = op[0];
      if (v === '(' || v === '[' || v === '{') this.balance.push(v);
      else if (v === ')' || v === ']' || v === '}') {
        const open = this.balance.pop();
        const expected = open === '(' ? ')' : open === '[' ? ']' : open === '{' ? '}' : undefined;
        if (expected === undefined) this.fail(`unexpected '${v}'`, start);
        if (expected !== v) this.fail(`unexpected '${v}', expected '${expected}'`, start);
      }
      if (v === '.') this.prevWasDot = true;
      return this.tok(PUNCT[v] ?? T.OPERATOR, v, start, OPERATOR_RE.lastIndex);
    }
    this.fail(`unexpected char ${JSON.stringify(c)}`, start);
  }

  /**
   * Body of `{% raw %}…{% endraw %}` as one DATA token (Jinja2 lexes it whole, honouring `-`
   * on either tag); returns whether the closing tag asked to strip following whitespace.
   */
  readRaw(openTagStripsAfter: boolean, at: number): { data: Token; stripAfter: boolean } {
    ENDRAW_RE.lastIndex = this.index;
    const m = ENDRAW_RE.exec(this.str);
    if (!m) this.fail("Missing end of raw directive", at);
    let body = this.str.slice(this.index, m.index);
    if (openTagStripsAfter) body = body.replace(/^\s+/, '');
    if (m[1] === '-') body = body.replace(/\s+$/, '');
    const data = this.tok(T.DATA, body, this.index, m.index);
    this.index = m.index + m[0].length;
    return { data, stripAfter: m[2] === '-' };
  }
}
