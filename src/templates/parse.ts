import { nullProto } from './values.js';
import { nunjucksNodes, nunjucksParser } from './nunjucks.js';
import { TemplateError } from './errors.js';
import { JinjaTokenizer, T, normalizeSource, type Token } from './lexer.js';

/**
 * Jinja2 3.1's grammar on nunjucks' parser. nunjucks supplies the parser machinery (token stream
 * helpers, block-end and whitespace-control handling, `parseUntilBlocks`) and the node classes;
 * this subclass replaces the productions where Jinja2 differs (docs/design.md#jinja2-semantics-sandboxed): tests without
 * parentheses, `with`, `autoescape`, recursive loops and `for … if …`, `set` blocks with filters,
 * multiple assignment and namespace targets, tuples incl. `(1,)`, numeric attributes, slices,
 * keyword and `*args` call arguments, chained inline ifs, `not in` / `in` as comparisons with
 * Python precedence, filter blocks with chained filters, `print`, macro defaults, `call` blocks.
 * Tags nunjucks has but Jinja2 does not (`switch`, `elseif`, `asyncEach`, …) are rejected.
 */

export interface Node {
  readonly typename: string;
  lineno: number;
  colno: number;
  [field: string]: any;
}

type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => Node;
const base = nunjucksNodes as Record<string, NodeClass & { extend(name: string, props: object): NodeClass }>;
const Base = base.Node!;
const def = (name: string, fields: string[]): NodeClass => Base.extend(name, { fields });

/** Node classes: nunjucks' where the meaning is the same, extensions where Jinja2 has more. */
export const N = {
  Root: base.Root!,
  NodeList: base.NodeList!,
  Or: base.Or!,
  And: base.And!,
  Not: base.Not!,
  Add: base.Add!,
  Sub: base.Sub!,
  Mul: base.Mul!,
  Div: base.Div!,
  FloorDiv: base.FloorDiv!,
  Mod: base.Mod!,
  Pow: base.Pow!,
  Neg: base.Neg!,
  Pos: base.Pos!,
  Concat: base.Concat!,
  Pair: base.Pair!,
  TemplateData: base.TemplateData!,
  Const: def('Const', ['value']),
  Name: def('Name', ['name']),
  Tuple: def('Tuple', ['items']),
  List: def('List', ['items']),
  Dict: def('Dict', ['items']), // items: Pair[]
  Getattr: def('Getattr', ['target', 'attr']),
  Getitem: def('Getitem', ['target', 'arg']),
  Slice: def('Slice', ['start', 'stop', 'step']),
  Call: def('Call', ['callee', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Filter: def('Filter', ['target', 'name', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Test: def('Test', ['target', 'name', 'args', 'kwargs', 'dynArgs', 'dynKwargs']),
  Keyword: def('Keyword', ['key', 'value']),
  CondExpr: def('CondExpr', ['test', 'expr1', 'expr2']),
  Compare: def('Compare', ['expr', 'ops']), // ops: Operand[]
  Operand: def('Operand', ['op', 'expr']),
  NSRef: def('NSRef', ['name', 'attr']),
  Output: def('Output', ['nodes', 'start', 'end']), // one `{{ … }}` (start/end: source offsets) or a text run
  For: def('For', ['target', 'iter', 'body', 'else_', 'test', 'recursive']),
  If: def('If', ['test', 'body', 'elifs', 'else_']),
  Assign: def('Assign', ['target', 'value']),
  AssignBlock: def('AssignBlock', ['target', 'filter', 'body']),
  Macro: def('Macro', ['name', 'args', 'defaults', 'body']),
  CallBlock: def('CallBlock', ['call', 'args', 'defaults', 'body']),
  FilterBlock: def('FilterBlock', ['filter', 'body']),
  With: def('With', ['targets', 'values', 'body']),
  Autoescape: def('Autoescape', ['value', 'body']),
  Block: def('Block', ['name', 'body']),
  Unsupported: def('Unsupported', ['tag']),
} as const;

const ParserBase = (nunjucksParser as { Parser: new (tokens: unknown) => any }).Parser;

const STATEMENT_TAGS = new Set([
  'for', 'if', 'block', 'extends', 'print', 'macro', 'include', 'from', 'import', 'set', 'with', 'autoescape',
  'call', 'filter', 'raw',
]);
const COMPARE_OPS: Record<string, string> = nullProto({ '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'lteq', '>': 'gt', '>=': 'gteq' });
const TEST_ARG_START = new Set<string>([T.SYMBOL, T.STRING, T.INT, T.FLOAT, T.LEFT_PAREN, T.LEFT_BRACKET, T.LEFT_CURLY]);

function describe(tok: Token | null | undefined): string {
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

class JinjaParser extends ParserBase {
  declare tokens: JinjaTokenizer;
  declare dropLeadingWhitespace: boolean;
  declare breakOnBlocks: string[] | null;
  private la: Token[] = [];
  /** Open tags, innermost last, for "Jinja was looking for …" messages. */
  private tagStack: string[] = [];
  private endTokenStack: string[][] = [];

  // ---- token stream (nunjucks keeps one token of look-ahead; Jinja2's grammar needs two) ----
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
  private cur(): Token {
    const t = this.peekToken();
    if (!t) this.fail('unexpected end of template');
    return t;
  }
  private isSym(tok: Token | null, name?: string): boolean {
    return !!tok && tok.type === T.SYMBOL && (name === undefined || tok.value === name);
  }
  private isOp(tok: Token | null, op: string): boolean {
    return !!tok && tok.type === T.OPERATOR && tok.value === op;
  }
  private expectType(type: string, what: string): Token {
    const tok = this.nextToken();
    if (!tok || tok.type !== type) {
      this.pushToken(tok);
      this.fail(`expected token '${what}', got '${describe(tok)}'`);
    }
    return tok;
  }
  private expectName(name?: string): Token {
    const tok = this.nextToken();
    if (!this.isSym(tok, name)) {
      this.pushToken(tok);
      this.fail(`expected token '${name ?? 'name'}', got '${describe(tok)}'`);
    }
    return tok!;
  }
  private expectOp(op: string): Token {
    const tok = this.nextToken();
    if (!this.isOp(tok, op)) {
      this.pushToken(tok);
      this.fail(`expected token '${op}', got '${describe(tok)}'`);
    }
    return tok!;
  }
  private expectBlockEnd(): void {
    const tok = this.nextToken();
    if (!tok || tok.type !== T.BLOCK_END) {
      this.pushToken(tok);
      this.fail(`expected token 'end of statement block', got '${describe(tok)}'`);
    }
    if (tok.value.charAt(0) === '-') this.dropLeadingWhitespace = true;
  }

  // ---- template body ----
  parseNodes(): Node[] {
    const buf: Node[] = [];
    let tok: Token | null;
    while ((tok = this.nextToken())) {
      if (tok.type === T.DATA) {
        let data: string = tok.value;
        const next = this.peekToken();
        if (this.dropLeadingWhitespace) {
          data = data.replace(/^\s+/, '');
          this.dropLeadingWhitespace = false;
        }
        if (
          next &&
          (((next.type === T.BLOCK_START || next.type === T.VARIABLE_START) && next.value.charAt(2) === '-') ||
            (next.type === T.COMMENT && next.value.charAt(2) === '-'))
        ) {
          data = data.replace(/\s+$/, '');
        }
        if (data !== '') buf.push(new N.Output(tok.lineno, tok.colno, [new N.TemplateData(tok.lineno, tok.colno, data)], tok.pos, tok.end));
      } else if (tok.type === T.BLOCK_START) {
        this.dropLeadingWhitespace = false;
        const n = this.parseStatement();
        if (!n) break;
        buf.push(n);
      } else if (tok.type === T.VARIABLE_START) {
        this.dropLeadingWhitespace = false;
        const e = this.parseTuple({});
        const end = this.nextToken();
        if (!end || end.type !== T.VARIABLE_END) {
          this.pushToken(end);
          this.fail(`expected token 'end of print statement', got '${describe(end)}'`);
        }
        this.dropLeadingWhitespace = end.value.charAt(0) === '-';
        buf.push(new N.Output(tok.lineno, tok.colno, [e], tok.pos, end.end));
      } else if (tok.type === T.COMMENT) {
        this.dropLeadingWhitespace = tok.value.charAt(tok.value.length - 3) === '-';
      } else {
        this.fail(`unexpected '${describe(tok)}'`, tok.lineno, tok.colno);
      }
    }
    return buf;
  }

  parse(): Node {
    return new N.NodeList(0, 0, this.parseNodes());
  }

  /** Statements up to one of `ends`; leaves the end tag name as the next token. */
  private subparse(ends: string[]): Node {
    this.endTokenStack.push(ends);
    const prev = this.breakOnBlocks;
    this.breakOnBlocks = ends;
    const body = this.parse();
    this.breakOnBlocks = prev;
    this.endTokenStack.pop();
    const tok = this.peekToken();
    if (!tok) this.failEof(ends);
    return body;
  }

  private statements(ends: string[], dropNeedle: boolean): Node {
    this.skip(T.COLON);
    this.expectBlockEnd();
    const body = this.subparse(ends);
    if (dropNeedle) this.nextToken();
    return body;
  }

  private failEof(ends: string[]): never {
    const expected = ends.map((e) => `'${e}'`).join(' or ');
    const inner = this.tagStack[this.tagStack.length - 1];
    this.fail(
      `Unexpected end of template. Jinja was looking for the following tags: ${expected}.` +
        (inner ? ` The innermost block that needs to be closed is '${inner}'.` : ''),
      this.tokens.position(this.tokens.str.length).lineno,
      this.tokens.position(this.tokens.str.length).colno,
    );
  }

  private failUnknownTag(tok: Token): never {
    const name = tok.value as string;
    const expected = this.endTokenStack.flat();
    const inner = this.tagStack[this.tagStack.length - 1];
    let msg = `Encountered unknown tag '${name}'.`;
    if (['break', 'continue', 'do'].includes(name)) {
      msg += ` Jinja2 only has it with an extension that connector templates do not enable.`;
    } else if (['elseif', 'switch', 'case', 'verbatim', 'asyncEach', 'asyncAll', 'ifAsync'].includes(name)) {
      msg += ` That is a nunjucks tag; templates here use Jinja2${name === 'elseif' ? " (write 'elif')" : ''}.`;
    }
    if (expected.length > 0) {
      msg += ` Jinja was looking for the following tags: ${this.endTokenStack[this.endTokenStack.length - 1]!
        .map((e) => `'${e}'`)
        .join(' or ')}.`;
      if (inner) msg += ` The innermost block that needs to be closed is '${inner}'.`;
    }
    this.failAt(msg, tok);
  }

  parseStatement(): Node | null {
    const tok = this.cur();
    if (tok.type !== T.SYMBOL) this.fail('tag name expected', tok.lineno, tok.colno);
    if (this.breakOnBlocks && this.breakOnBlocks.includes(tok.value)) return null;
    if (!STATEMENT_TAGS.has(tok.value)) this.failUnknownTag(tok);
    this.tagStack.push(tok.value);
    try {
      switch (tok.value as string) {
        case 'for': return this.parseJFor();
        case 'if': return this.parseJIf();
        case 'set': return this.parseJSet();
        case 'print': return this.parseJPrint();
        case 'macro': return this.parseJMacro();
        case 'call': return this.parseJCallBlock();
        case 'filter': return this.parseJFilterBlock();
        case 'with': return this.parseJWith();
        case 'autoescape': return this.parseJAutoescape();
        case 'block': return this.parseJBlock();
        case 'raw': return this.parseJRaw();
        default: return this.parseJUnsupported();
      }
    } finally {
      this.tagStack.pop();
    }
  }

  /**
   * `extends`, `include`, `import`, `from`: parsed like Jinja2 does, then reported as unsupported —
   * a connector template is one self-contained string and there is nothing to load.
   */
  private parseJUnsupported(): Node {
    const tok = this.nextToken()!;
    this.failAt(
      `'{% ${tok.value} %}' is not supported: a connector template is self-contained and cannot load other templates`,
      tok,
    );
  }

  private parseJRaw(): Node {
    const tok = this.nextToken()!;
    const end = this.nextToken();
    if (!end || end.type !== T.BLOCK_END) {
      this.pushToken(end);
      this.fail(`expected token 'end of statement block', got '${describe(end)}'`);
    }
    const { data, stripAfter } = this.tokens.readRaw(end.value.charAt(0) === '-', tok.pos);
    this.dropLeadingWhitespace = stripAfter;
    return new N.Output(tok.lineno, tok.colno, [new N.TemplateData(data.lineno, data.colno, data.value)], data.pos, data.end);
  }

  private parseJFor(): Node {
    const forTok = this.nextToken()!;
    const target = this.parseAssignTarget({ extraEnd: ['in'] });
    this.expectName('in');
    const iter = this.parseTuple({ withCondexpr: false, extraEnd: ['recursive'] });
    let test: Node | null = null;
    if (this.skipSymbol('if')) test = this.parseExpression();
    const recursive = this.skipSymbol('recursive');
    const body = this.statements(['endfor', 'else'], false);
    let else_: Node | null = null;
    if (this.nextToken()!.value === 'else') else_ = this.statements(['endfor'], true);
    this.expectBlockEnd();
    return new N.For(forTok.lineno, forTok.colno, target, iter, body, else_, test, recursive);
  }

  private parseJIf(): Node {
    const ifTok = this.nextToken()!;
    const test = this.parseTuple({ withCondexpr: false });
    const body = this.statements(['elif', 'else', 'endif'], false);
    const node = new N.If(ifTok.lineno, ifTok.colno, test, body, [], null);
    for (;;) {
      const tok = this.nextToken()!;
      if (tok.value === 'elif') {
        const t = this.parseTuple({ withCondexpr: false });
        const b = this.statements(['elif', 'else', 'endif'], false);
        node.elifs.push(new N.If(tok.lineno, tok.colno, t, b, [], null));
        continue;
      }
      if (tok.value === 'else') node.else_ = this.statements(['endif'], true);
      break;
    }
    this.expectBlockEnd();
    return node;
  }

  private parseJSet(): Node {
    const setTok = this.nextToken()!;
    const target = this.parseAssignTarget({ withNamespace: true });
    if (this.skipValue(T.OPERATOR, '=')) {
      const value = this.parseTuple({});
      this.expectBlockEnd();
      return new N.Assign(setTok.lineno, setTok.colno, target, value);
    }
    const filter = this.parseFilterChain(null, false);
    const body = this.statements(['endset'], true);
    this.expectBlockEnd();
    return new N.AssignBlock(setTok.lineno, setTok.colno, target, filter, body);
  }

  private parseJPrint(): Node {
    const tok = this.nextToken()!;
    const items: Node[] = [];
    while (this.cur().type !== T.BLOCK_END) {
      if (items.length > 0) this.expectType(T.COMMA, ',');
      items.push(this.parseExpression());
    }
    this.expectBlockEnd();
    return new N.Output(tok.lineno, tok.colno, items, -1, -1);
  }

  private parseSignatureInto(): { args: Node[]; defaults: Node[] } {
    const args: Node[] = [];
    const defaults: Node[] = [];
    this.expectType(T.LEFT_PAREN, '(');
    while (this.cur().type !== T.RIGHT_PAREN) {
      if (args.length > 0) this.expectType(T.COMMA, ',');
      const argTok = this.expectName();
      if (this.skipValue(T.OPERATOR, '=')) defaults.push(this.parseExpression());
      else if (defaults.length > 0) this.failAt('non-default argument follows default argument', argTok);
      args.push(new N.Name(argTok.lineno, argTok.colno, argTok.value));
    }
    this.nextToken();
    return { args, defaults };
  }

  private parseJMacro(): Node {
    const tok = this.nextToken()!;
    const name = this.expectName();
    const { args, defaults } = this.parseSignatureInto();
    const body = this.statements(['endmacro'], true);
    this.expectBlockEnd();
    return new N.Macro(tok.lineno, tok.colno, name.value, args, defaults, body);
  }

  private parseJCallBlock(): Node {
    const tok = this.nextToken()!;
    let sig: { args: Node[]; defaults: Node[] } = { args: [], defaults: [] };
    if (this.cur().type === T.LEFT_PAREN) sig = this.parseSignatureInto();
    const call = this.parseExpression();
    if (call.typename !== 'Call') this.failAt('expected call', tok);
    const body = this.statements(['endcall'], true);
    this.expectBlockEnd();
    return new N.CallBlock(tok.lineno, tok.colno, call, sig.args, sig.defaults, body);
  }

  private parseJFilterBlock(): Node {
    const tok = this.nextToken()!;
    const filter = this.parseFilterChain(null, true);
    const body = this.statements(['endfilter'], true);
    this.expectBlockEnd();
    return new N.FilterBlock(tok.lineno, tok.colno, filter, body);
  }

  private parseJWith(): Node {
    const tok = this.nextToken()!;
    const targets: Node[] = [];
    const values: Node[] = [];
    while (this.cur().type !== T.BLOCK_END) {
      if (targets.length > 0) this.expectType(T.COMMA, ',');
      targets.push(this.parseAssignTarget({}));
      this.expectOp('=');
      values.push(this.parseExpression());
    }
    const body = this.statements(['endwith'], true);
    this.expectBlockEnd();
    return new N.With(tok.lineno, tok.colno, targets, values, body);
  }

  private parseJAutoescape(): Node {
    const tok = this.nextToken()!;
    const value = this.parseExpression();
    const body = this.statements(['endautoescape'], true);
    this.expectBlockEnd();
    return new N.Autoescape(tok.lineno, tok.colno, value, body);
  }

  private parseJBlock(): Node {
    const tok = this.nextToken()!;
    const name = this.expectName();
    if (this.cur().type === T.OPERATOR && this.cur().value === '-') {
      this.fail("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.");
    }
    while (this.isSym(this.peekToken(), 'scoped') || this.isSym(this.peekToken(), 'required')) this.nextToken();
    const body = this.statements(['endblock'], true);
    if (this.isSym(this.peekToken())) {
      const endName = this.nextToken()!;
      if (endName.value !== name.value) this.failAt(`'${name.value}' block ends with the wrong name '${endName.value}'`, endName);
    }
    this.expectBlockEnd();
    return new N.Block(tok.lineno, tok.colno, name.value, body);
  }

  // ---- assignment targets ----
  private parseAssignTarget(opts: { withNamespace?: boolean; extraEnd?: string[] }): Node {
    const tok = this.cur();
    let target: Node;
    if (opts.withNamespace && this.isSym(tok) && this.isOp(this.look(1), '.')) {
      this.nextToken();
      this.nextToken();
      const attr = this.expectName();
      target = new N.NSRef(tok.lineno, tok.colno, tok.value, attr.value);
    } else {
      target = this.parseTuple({ simplified: true, extraEnd: opts.extraEnd });
    }
    this.checkAssignable(target);
    return target;
  }

  private checkAssignable(target: Node): void {
    if (target.typename === 'Name') {
      if (['true', 'false', 'none', 'True', 'False', 'None'].includes(target.name)) {
        this.failAt(`can't assign to '${target.name}'`, target);
      }
      return;
    }
    if (target.typename === 'NSRef') return;
    if (target.typename === 'Tuple') {
      for (const item of target.items as Node[]) this.checkAssignable(item);
      return;
    }
    this.failAt(`can't assign to ${target.typename.toLowerCase()}`, target);
  }

  // ---- expressions (Jinja2 parser.py, same precedence) ----
  parseExpression(withCondexpr = true): Node {
    return withCondexpr ? this.parseCondexpr() : this.parseJOr();
  }

  private isTupleEnd(extraEnd?: string[]): boolean {
    const t = this.cur();
    if (t.type === T.VARIABLE_END || t.type === T.BLOCK_END || t.type === T.RIGHT_PAREN) return true;
    return !!extraEnd && t.type === T.SYMBOL && extraEnd.includes(t.value);
  }

  parseTuple(opts: { simplified?: boolean; withCondexpr?: boolean; extraEnd?: string[]; explicitParens?: boolean }): Node {
    const first = this.cur();
    const parse = opts.simplified
      ? () => this.parsePrimaryJ()
      : opts.withCondexpr === false
        ? () => this.parseExpression(false)
        : () => this.parseExpression(true);
    const args: Node[] = [];
    let isTuple = false;
    for (;;) {
      if (args.length > 0) this.expectType(T.COMMA, ',');
      if (this.isTupleEnd(opts.extraEnd)) break;
      args.push(parse());
      if (this.cur().type === T.COMMA) isTuple = true;
      else break;
    }
    if (!isTuple) {
      if (args.length > 0) return args[0]!;
      if (!opts.explicitParens) this.fail(`Expected an expression, got '${describe(this.cur())}'`);
    }
    return new N.Tuple(first.lineno, first.colno, args);
  }

  private parseCondexpr(): Node {
    const start = this.cur();
    let expr1 = this.parseJOr();
    while (this.skipSymbol('if')) {
      const expr2 = this.parseJOr();
      const expr3 = this.skipSymbol('else') ? this.parseCondexpr() : null;
      expr1 = new N.CondExpr(start.lineno, start.colno, expr2, expr1, expr3);
    }
    return expr1;
  }

  private parseJOr(): Node {
    let left = this.parseJAnd();
    for (let t = this.peekToken(); this.skipSymbol('or'); t = this.peekToken()) {
      left = new N.Or(t!.lineno, t!.colno, left, this.parseJAnd());
    }
    return left;
  }

  private parseJAnd(): Node {
    let left = this.parseJNot();
    for (let t = this.peekToken(); this.skipSymbol('and'); t = this.peekToken()) {
      left = new N.And(t!.lineno, t!.colno, left, this.parseJNot());
    }
    return left;
  }

  private parseJNot(): Node {
    const t = this.cur();
    if (this.isSym(t, 'not')) {
      this.nextToken();
      return new N.Not(t.lineno, t.colno, this.parseJNot());
    }
    return this.parseJCompare();
  }

  private parseJCompare(): Node {
    const start = this.cur();
    const expr = this.parseMath1();
    const ops: Node[] = [];
    for (;;) {
      const t = this.cur();
      if (t.type === T.OPERATOR && COMPARE_OPS[t.value]) {
        this.nextToken();
        ops.push(new N.Operand(t.lineno, t.colno, COMPARE_OPS[t.value], this.parseMath1()));
      } else if (this.isSym(t, 'in')) {
        this.nextToken();
        ops.push(new N.Operand(t.lineno, t.colno, 'in', this.parseMath1()));
      } else if (this.isSym(t, 'not') && this.isSym(this.look(1), 'in')) {
        this.nextToken();
        this.nextToken();
        ops.push(new N.Operand(t.lineno, t.colno, 'notin', this.parseMath1()));
      } else break;
    }
    if (ops.length === 0) return expr;
    return new N.Compare(start.lineno, start.colno, expr, ops);
  }

  private parseMath1(): Node {
    let left = this.parseJConcat();
    for (;;) {
      const t = this.cur();
      if (this.isOp(t, '+')) {
        this.nextToken();
        left = new N.Add(t.lineno, t.colno, left, this.parseJConcat());
      } else if (this.isOp(t, '-')) {
        this.nextToken();
        left = new N.Sub(t.lineno, t.colno, left, this.parseJConcat());
      } else return left;
    }
  }

  private parseJConcat(): Node {
    let left = this.parseMath2();
    for (let t = this.cur(); t.type === T.TILDE; t = this.cur()) {
      this.nextToken();
      left = new N.Concat(t.lineno, t.colno, left, this.parseMath2());
    }
    return left;
  }

  private parseMath2(): Node {
    let left = this.parseJPow();
    for (;;) {
      const t = this.cur();
      const cls =
        t.type !== T.OPERATOR ? undefined
        : t.value === '*' ? N.Mul
        : t.value === '/' ? N.Div
        : t.value === '//' ? N.FloorDiv
        : t.value === '%' ? N.Mod
        : undefined;
      if (!cls) return left;
      this.nextToken();
      left = new cls(t.lineno, t.colno, left, this.parseJPow());
    }
  }

  private parseJPow(): Node {
    let left = this.parseJUnary(true);
    for (let t = this.cur(); this.isOp(t, '**'); t = this.cur()) {
      this.nextToken();
      left = new N.Pow(t.lineno, t.colno, left, this.parseJUnary(true));
    }
    return left;
  }

  private parseJUnary(withFilter: boolean): Node {
    const t = this.cur();
    let node: Node;
    if (this.isOp(t, '-')) {
      this.nextToken();
      node = new N.Neg(t.lineno, t.colno, this.parseJUnary(false));
    } else if (this.isOp(t, '+')) {
      this.nextToken();
      node = new N.Pos(t.lineno, t.colno, this.parseJUnary(false));
    } else {
      node = this.parsePrimaryJ();
    }
    node = this.parsePostfixJ(node);
    if (withFilter) node = this.parseFilterExpr(node);
    return node;
  }

  private parsePrimaryJ(): Node {
    const t = this.cur();
    if (t.type === T.SYMBOL) {
      this.nextToken();
      if (t.value === 'true' || t.value === 'True') return new N.Const(t.lineno, t.colno, true);
      if (t.value === 'false' || t.value === 'False') return new N.Const(t.lineno, t.colno, false);
      if (t.value === 'none' || t.value === 'None') return new N.Const(t.lineno, t.colno, null);
      return new N.Name(t.lineno, t.colno, t.value);
    }
    if (t.type === T.STRING) {
      this.nextToken();
      let value: string = t.value;
      while (this.cur().type === T.STRING) value += this.nextToken()!.value;
      return new N.Const(t.lineno, t.colno, value);
    }
    if (t.type === T.INT) {
      this.nextToken();
      return new N.Const(t.lineno, t.colno, t.value);
    }
    if (t.type === T.FLOAT) {
      this.nextToken();
      return new N.Const(t.lineno, t.colno, new FloatLiteral(t.value as number));
    }
    if (t.type === T.LEFT_PAREN) {
      this.nextToken();
      const node = this.parseTuple({ explicitParens: true });
      this.expectType(T.RIGHT_PAREN, ')');
      return node;
    }
    if (t.type === T.LEFT_BRACKET) return this.parseListJ();
    if (t.type === T.LEFT_CURLY) return this.parseDictJ();
    this.failAt(`unexpected '${describe(t)}'`, t);
  }

  private parseListJ(): Node {
    const t = this.nextToken()!;
    const items: Node[] = [];
    while (this.cur().type !== T.RIGHT_BRACKET) {
      if (items.length > 0) this.expectType(T.COMMA, ',');
      if (this.cur().type === T.RIGHT_BRACKET) break;
      items.push(this.parseExpression());
    }
    this.nextToken();
    return new N.List(t.lineno, t.colno, items);
  }

  private parseDictJ(): Node {
    const t = this.nextToken()!;
    const items: Node[] = [];
    while (this.cur().type !== T.RIGHT_CURLY) {
      if (items.length > 0) this.expectType(T.COMMA, ',');
      if (this.cur().type === T.RIGHT_CURLY) break;
      const key = this.parseExpression();
      this.expectType(T.COLON, ':');
      const value = this.parseExpression();
      items.push(new N.Pair(key.lineno, key.colno, key, value));
    }
    this.nextToken();
    return new N.Dict(t.lineno, t.colno, items);
  }

  private parsePostfixJ(node: Node): Node {
    for (;;) {
      const t = this.cur();
      if (this.isOp(t, '.') || t.type === T.LEFT_BRACKET) node = this.parseSubscript(node);
      else if (t.type === T.LEFT_PAREN) node = this.parseCallJ(node);
      else return node;
    }
  }

  private parseFilterExpr(node: Node): Node {
    for (;;) {
      const t = this.cur();
      if (t.type === T.PIPE) node = this.parseFilterChain(node, false)!;
      else if (this.isSym(t, 'is')) node = this.parseTestJ(node);
      else if (t.type === T.LEFT_PAREN) node = this.parseCallJ(node);
      else return node;
    }
  }

  private parseSubscript(node: Node): Node {
    const t = this.nextToken()!;
    if (this.isOp(t, '.')) {
      const attr = this.nextToken();
      if (attr && attr.type === T.SYMBOL) return new N.Getattr(t.lineno, t.colno, node, attr.value);
      if (attr && attr.type === T.INT) {
        return new N.Getitem(t.lineno, t.colno, node, new N.Const(attr.lineno, attr.colno, attr.value));
      }
      this.pushToken(attr);
      this.fail('expected name or number');
    }
    const args: Node[] = [];
    while (this.cur().type !== T.RIGHT_BRACKET) {
      if (args.length > 0) this.expectType(T.COMMA, ',');
      args.push(this.parseSubscribed());
    }
    this.nextToken();
    const arg = args.length === 1 ? args[0]! : new N.Tuple(t.lineno, t.colno, args);
    if (args.length === 0) this.failAt('expected subscript expression', t);
    return new N.Getitem(t.lineno, t.colno, node, arg);
  }

  private parseSubscribed(): Node {
    const t = this.cur();
    const parts: (Node | null)[] = [];
    if (t.type === T.COLON) {
      this.nextToken();
      parts.push(null);
    } else {
      const node = this.parseExpression();
      if (this.cur().type !== T.COLON) return node;
      this.nextToken();
      parts.push(node);
    }
    const endsSlice = () => {
      const c = this.cur().type;
      return c === T.RIGHT_BRACKET || c === T.COMMA;
    };
    if (this.cur().type === T.COLON) parts.push(null);
    else if (!endsSlice()) parts.push(this.parseExpression());
    else parts.push(null);
    if (this.cur().type === T.COLON) {
      this.nextToken();
      parts.push(endsSlice() ? null : this.parseExpression());
    } else parts.push(null);
    return new N.Slice(t.lineno, t.colno, parts[0], parts[1], parts[2]);
  }

  private parseCallArgs(): { args: Node[]; kwargs: Node[]; dynArgs: Node | null; dynKwargs: Node | null } {
    const open = this.expectType(T.LEFT_PAREN, '(');
    const args: Node[] = [];
    const kwargs: Node[] = [];
    let dynArgs: Node | null = null;
    let dynKwargs: Node | null = null;
    let requireComma = false;
    const ensure = (ok: boolean) => {
      if (!ok) this.failAt('invalid syntax for function call expression', open);
    };
    while (this.cur().type !== T.RIGHT_PAREN) {
      if (requireComma) {
        this.expectType(T.COMMA, ',');
        if (this.cur().type === T.RIGHT_PAREN) break;
      }
      const t = this.cur();
      if (this.isOp(t, '*')) {
        ensure(dynArgs === null && dynKwargs === null);
        this.nextToken();
        dynArgs = this.parseExpression();
      } else if (this.isOp(t, '**')) {
        ensure(dynKwargs === null);
        this.nextToken();
        dynKwargs = this.parseExpression();
      } else if (t.type === T.SYMBOL && this.isOp(this.look(1), '=')) {
        ensure(dynKwargs === null);
        this.nextToken();
        this.nextToken();
        const value = this.parseExpression();
        kwargs.push(new N.Keyword(t.lineno, t.colno, t.value, value));
      } else {
        ensure(dynArgs === null && dynKwargs === null && kwargs.length === 0);
        args.push(this.parseExpression());
      }
      requireComma = true;
    }
    this.nextToken();
    return { args, kwargs, dynArgs, dynKwargs };
  }

  private parseCallJ(node: Node): Node {
    const t = this.cur();
    const { args, kwargs, dynArgs, dynKwargs } = this.parseCallArgs();
    return new N.Call(t.lineno, t.colno, node, args, kwargs, dynArgs, dynKwargs);
  }

  private parseDottedName(): Token & { name: string } {
    const tok = this.expectName();
    let name: string = tok.value;
    while (this.isOp(this.peekToken(), '.')) {
      this.nextToken();
      name += '.' + this.expectName().value;
    }
    return { ...tok, name };
  }

  /** `node | f(a) | g`; with `node === null` builds the chain of a filter block / `set` block. */
  private parseFilterChain(node: Node | null, startInline: boolean): Node | null {
    while (this.cur().type === T.PIPE || startInline) {
      if (!startInline) this.nextToken();
      const name = this.parseDottedName();
      let call = { args: [] as Node[], kwargs: [] as Node[], dynArgs: null as Node | null, dynKwargs: null as Node | null };
      if (this.cur().type === T.LEFT_PAREN) call = this.parseCallArgs();
      node = new N.Filter(name.lineno, name.colno, node, name.name, call.args, call.kwargs, call.dynArgs, call.dynKwargs);
      startInline = false;
    }
    return node;
  }

  private parseTestJ(node: Node): Node {
    const isTok = this.nextToken()!;
    const negated = this.skipSymbol('not');
    const name = this.parseDottedName();
    let call = { args: [] as Node[], kwargs: [] as Node[], dynArgs: null as Node | null, dynKwargs: null as Node | null };
    const t = this.cur();
    if (t.type === T.LEFT_PAREN) {
      call = this.parseCallArgs();
    } else if (TEST_ARG_START.has(t.type) && !(this.isSym(t, 'else') || this.isSym(t, 'or') || this.isSym(t, 'and'))) {
      if (this.isSym(t, 'is')) this.fail('You cannot chain multiple tests with is');
      call.args = [this.parsePostfixJ(this.parsePrimaryJ())];
    }
    let result: Node = new N.Test(isTok.lineno, isTok.colno, node, name.name, call.args, call.kwargs, call.dynArgs, call.dynKwargs);
    if (negated) result = new N.Not(isTok.lineno, isTok.colno, result);
    return result;
  }
}

/** A float literal keeps its type even when integral (`1.0`, `1e3`) until the evaluator sees it. */
export class FloatLiteral {
  constructor(readonly value: number) {}
}

const MAX_SOURCE_NESTING_ERROR = 'template is nested too deeply';

/** Parses a template into the AST (a Root node). Throws TemplateError (kind `syntax`). */
export function parseTemplate(source: string): Node {
  const tokenizer = new JinjaTokenizer(normalizeSource(source));
  const parser = new JinjaParser(tokenizer);
  try {
    return new N.Root(0, 0, parser.parseNodes());
  } catch (err) {
    if (err instanceof TemplateError) throw err;
    if (err instanceof RangeError) throw new TemplateError('limit', MAX_SOURCE_NESTING_ERROR, 1, 1);
    const e = err as { message?: string; lineno?: number; colno?: number };
    throw new TemplateError('syntax', String(e.message ?? err), e.lineno ?? 1, e.colno ?? 1);
  }
}
