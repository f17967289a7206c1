import { TemplateError } from './errors.js';
import { T, type JinjaTokenizer, type Token } from './lexer.js';
import { nunjucksParser } from './nunjucks.js';

const ParserBase = (nunjucksParser as { Parser: new (tokens: unknown) => any }).Parser;

/** How a token is named in "expected …, got …" messages, as Jinja2 names it. */
export function describe(tok: Token | null | undefined): string {
  if (!tok) return 'end of template';
  switch (tok.type) {
    case T.VARIABLE_END: return 'end of print statement';
    case T.BLOCK_END: return 'end of statement block';
    case T.DATA: return 'template data';
    case T.STRING: return 'string';
    case T.INT: return 'integer';
    case T.FLOAT: return 'float';
    default: return String(tok.value);
  }
}

/**
 * The parser's token stream on nunjucks' parser machinery: two tokens of look-ahead (nunjucks keeps
 * one; Jinja2's grammar needs two), expectations that fail with Jinja2's messages at 1-based
 * positions. The expression and statement grammars (parse-expressions.ts, parse.ts) build on it.
 */
export class TokenParser extends ParserBase {
  declare tokens: JinjaTokenizer;
  declare dropLeadingWhitespace: boolean;
  declare breakOnBlocks: string[] | null;
  private la: Token[] = [];

  nextToken(): Token | null {
    return this.la.length > 0 ? this.la.shift()! : this.tokens.nextToken();
  }
  peekToken(): Token | null {
    if (this.la.length === 0) this.la.push(this.tokens.nextToken() as Token);
    return this.la[0] ?? null;
  }
  look(n: number): Token | null {
    while (this.la.length <= n) this.la.push(this.tokens.nextToken() as Token);
    return this.la[n] ?? null;
  }
  pushToken(tok: Token | null): void {
    if (tok) this.la.unshift(tok);
  }
  error(msg: string, lineno?: number, colno?: number): TemplateError {
    if (lineno === undefined || colno === undefined) {
      const tok = this.peekToken();
      lineno = tok?.lineno ?? this.tokens.position(this.tokens.str.length).lineno;
      colno = tok?.colno ?? this.tokens.position(this.tokens.str.length).colno;
    }
    return new TemplateError('syntax', msg, lineno + 1, colno + 1);
  }
  fail(msg: string, lineno?: number, colno?: number): never {
    throw this.error(msg, lineno, colno);
  }
  failAt(msg: string, node: { lineno: number; colno: number } | Token): never {
    throw this.error(msg, node.lineno, node.colno);
  }
  protected cur(): Token {
    const t = this.peekToken();
    if (!t) this.fail('unexpected end of template');
    return t;
  }
  protected isSym(tok: Token | null, name?: string): boolean {
    return !!tok && tok.type === T.SYMBOL && (name === undefined || tok.value === name);
  }
  protected isOp(tok: Token | null, op: string): boolean {
    return !!tok && tok.type === T.OPERATOR && tok.value === op;
  }
  protected expectType(type: string, what: string): Token {
    const tok = this.nextToken();
    if (!tok || tok.type !== type) {
      this.pushToken(tok);
      this.fail(`expected token '${what}', got '${describe(tok)}'`);
    }
    return tok;
  }
  protected expectName(name?: string): Token {
    const tok = this.nextToken();
    if (!this.isSym(tok, name)) {
      this.pushToken(tok);
      this.fail(`expected token '${name ?? 'name'}', got '${describe(tok)}'`);
    }
    return tok!;
  }
  protected expectOp(op: string): Token {
    const tok = this.nextToken();
    if (!this.isOp(tok, op)) {
      this.pushToken(tok);
      this.fail(`expected token '${op}', got '${describe(tok)}'`);
    }
    return tok!;
  }
  protected expectBlockEnd(): void {
    const tok = this.nextToken();
    if (!tok || tok.type !== T.BLOCK_END) {
      this.pushToken(tok);
      this.fail(`expected token 'end of statement block', got '${describe(tok)}'`);
    }
    if (tok.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
  }

  // ---- template body ----
}
