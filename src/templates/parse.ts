import { TemplateError } from './errors.js';
import { JinjaTokenizer, T, normalizeSource, type Token } from './lexer.js';
import { N, type Node } from './nodes.js';
import { ExpressionParser } from './parse-expressions.js';
import { describe } from './parse-tokens.js';

/**
 * Jinja2 3.1's grammar on nunjucks' parser. nunjucks supplies the parser machinery (token stream
 * helpers, block-end and whitespace-control handling, `parseUntilBlocks`) and the node classes;
 * these subclasses replace the productions where Jinja2 differs (docs/design.md#jinja2-semantics-sandboxed): tests without
 * parentheses, `with`, `autoescape`, recursive loops and `for … if …`, `set` blocks with filters,
 * multiple assignment and namespace targets, tuples incl. `(1,)`, numeric attributes, slices,
 * keyword and `*args` call arguments, chained inline ifs, `not in` / `in` as comparisons with
 * Python precedence, filter blocks with chained filters, `print`, macro defaults, `call` blocks.
 * Tags nunjucks has but Jinja2 does not (`switch`, `elseif`, `asyncEach`, …) are rejected.
 */

const STATEMENT_TAGS = new Set([
  'for', 'if', 'block', 'extends', 'print', 'macro', 'include', 'from', 'import', 'set', 'with', 'autoescape',
  'call', 'filter', 'raw',
]);

/** Jinja2's statements and template body, over the expression grammar. */
class JinjaParser extends ExpressionParser {
  /** Open tags, innermost last, for "Jinja was looking for …" messages. */
  private tagStack: string[] = [];
  private endTokenStack: string[][] = [];

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
