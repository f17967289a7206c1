import { nullProto } from './values.js';
import { T, type Token } from './lexer.js';
import { FloatLiteral, N, type Node } from './nodes.js';
import { TokenParser, describe } from './parse-tokens.js';

const COMPARE_OPS: Record<string, string> = nullProto({ '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'lteq', '>': 'gt', '>=': 'gteq' });
const TEST_ARG_START = new Set<string>([T.SYMBOL, T.STRING, T.INT, T.FLOAT, T.LEFT_PAREN, T.LEFT_BRACKET, T.LEFT_CURLY]);

/**
 * Jinja2's expression grammar (its parser.py, same precedence): inline if, or/and/not, chained
 * comparisons with `in`/`not in`, `~`, arithmetic, `**`, unary signs, literals incl. tuples and
 * dicts, attributes incl. numeric ones, subscripts and slices, calls with keyword and `*`/`**`
 * arguments, filters, and tests with or without parentheses.
 */
export class ExpressionParser extends TokenParser {
  parseExpression(withCondexpr = true): Node {
    return withCondexpr ? this.parseCondexpr() : this.parseJOr();
  }

  protected isTupleEnd(extraEnd?: string[]): boolean {
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

  protected parseCondexpr(): Node {
    const start = this.cur();
    let expr1 = this.parseJOr();
    while (this.skipSymbol('if')) {
      const expr2 = this.parseJOr();
      const expr3 = this.skipSymbol('else') ? this.parseCondexpr() : null;
      expr1 = new N.CondExpr(start.lineno, start.colno, expr2, expr1, expr3);
    }
    return expr1;
  }

  protected parseJOr(): Node {
    let left = this.parseJAnd();
    for (let t = this.peekToken(); this.skipSymbol('or'); t = this.peekToken()) {
      left = new N.Or(t!.lineno, t!.colno, left, this.parseJAnd());
    }
    return left;
  }

  protected parseJAnd(): Node {
    let left = this.parseJNot();
    for (let t = this.peekToken(); this.skipSymbol('and'); t = this.peekToken()) {
      left = new N.And(t!.lineno, t!.colno, left, this.parseJNot());
    }
    return left;
  }

  protected parseJNot(): Node {
    const t = this.cur();
    if (this.isSym(t, 'not')) {
      this.nextToken();
      return new N.Not(t.lineno, t.colno, this.parseJNot());
    }
    return this.parseJCompare();
  }

  protected parseJCompare(): Node {
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

  protected parseMath1(): Node {
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

  protected parseJConcat(): Node {
    let left = this.parseMath2();
    for (let t = this.cur(); t.type === T.TILDE; t = this.cur()) {
      this.nextToken();
      left = new N.Concat(t.lineno, t.colno, left, this.parseMath2());
    }
    return left;
  }

  protected parseMath2(): Node {
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

  protected parseJPow(): Node {
    let left = this.parseJUnary(true);
    for (let t = this.cur(); this.isOp(t, '**'); t = this.cur()) {
      this.nextToken();
      left = new N.Pow(t.lineno, t.colno, left, this.parseJUnary(true));
    }
    return left;
  }

  protected parseJUnary(withFilter: boolean): Node {
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

  protected parsePrimaryJ(): Node {
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

  protected parseListJ(): Node {
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

  protected parseDictJ(): Node {
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

  protected parsePostfixJ(node: Node): Node {
    for (;;) {
      const t = this.cur();
      if (this.isOp(t, '.') || t.type === T.LEFT_BRACKET) node = this.parseSubscript(node);
      else if (t.type === T.LEFT_PAREN) node = this.parseCallJ(node);
      else return node;
    }
  }

  protected parseFilterExpr(node: Node): Node {
    for (;;) {
      const t = this.cur();
      if (t.type === T.PIPE) node = this.parseFilterChain(node, false)!;
      else if (this.isSym(t, 'is')) node = this.parseTestJ(node);
      else if (t.type === T.LEFT_PAREN) node = this.parseCallJ(node);
      else return node;
    }
  }

  protected parseSubscript(node: Node): Node {
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

  protected parseSubscribed(): Node {
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

  protected parseCallArgs(): { args: Node[]; kwargs: Node[]; dynArgs: Node | null; dynKwargs: Node | null } {
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

  protected parseCallJ(node: Node): Node {
    const t = this.cur();
    const { args, kwargs, dynArgs, dynKwargs } = this.parseCallArgs();
    return new N.Call(t.lineno, t.colno, node, args, kwargs, dynArgs, dynKwargs);
  }

  protected parseDottedName(): Token & { name: string } {
    const tok = this.expectName();
    let name: string = tok.value;
    while (this.isOp(this.peekToken(), '.')) {
      this.nextToken();
      name += '.' + this.expectName().value;
    }
    return { ...tok, name };
  }

  /** `node | f(a) | g`; with `node === null` builds the chain of a filter block / `set` block. */
  protected parseFilterChain(node: Node | null, startInline: boolean): Node | null {
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

  protected parseTestJ(node: Node): Node {
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
