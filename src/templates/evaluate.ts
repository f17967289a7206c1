import { EvalError, TemplateError } from './errors.js';
import { escapeHtml } from './escape.js';
import { FILTERS, TESTS } from './builtins.js';
import { GLOBALS, RESERVED } from './functions.js';
import { DICT_ATTRIBUTES, SliceValue, getattr, getitem } from './lookup.js';
import { add, compare, concat, floordiv, mod, mul, neg, pos, pow, sub, truediv } from './ops.js';
import { FloatLiteral, type Node } from './parse.js';
import { LIMITS } from './limits.js';
import { Frame, Out, State } from './state.js';
import {
  MISSING, Markup, MissingRef, Namespace, PyDict, PyFunction, PyTuple, TemplateObject, Undefined, iterate,
  mkFloat, dictItems, floatRepr, intStr, isDict, repr, str, truthy, typeName, type CallArgs,
} from './values.js';

/**
 * The evaluator. The AST is turned once into a tree of closures (compile once, run many; no
 * parsing or tree walking on the request path), each closure implementing the node's Jinja2 3.1
 * semantics over the value model in values.ts. Nothing here ever calls nunjucks' compiler/runtime.
 */

export type Expr = (s: State, f: Frame) => unknown;
export type Stmt = (s: State, f: Frame, out: Out) => void;

const hasOwn = Object.prototype.hasOwnProperty;
const EMPTY_KWARGS: Map<string, unknown> = new Map();
/** Shared by argument-less filter calls; filters never modify their argument arrays. */
const NO_ARGS: unknown[] = [];

function relocate(e: unknown, node: Node): never {
  if (e instanceof TemplateError) throw e;
  if (e instanceof EvalError) throw new TemplateError(e.kind, e.message, node.lineno + 1, node.colno + 1);
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    throw new TemplateError('limit', 'maximum recursion depth exceeded', node.lineno + 1, node.colno + 1);
  }
  throw e;
}

export function lookupName(s: State, f: Frame, name: string): unknown {
  for (let fr: Frame | null = f; fr !== null; fr = fr.parent) {
    const v = fr.own(name);
    if (v !== undefined) return v;
  }
  const reserved = RESERVED.get(name);
  if (reserved !== undefined) return reserved;
  if (hasOwn.call(s.vars, name)) {
    const v = s.vars[name];
    return v === undefined ? null : s.own(v);
  }
  const g = GLOBALS.get(name);
  if (g !== undefined) return g;
  return new Undefined(name);
}

/** What `{{ value }}` prints. */
export function toOutput(v: unknown, autoescape: boolean): string {
  if (typeof v === 'string') return autoescape ? escapeHtml(v) : v;
  // a number's text never needs escaping
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatRepr(v);
  if (v instanceof Markup) return v.s;
  if (v instanceof MissingRef) return v.text;
  return autoescape ? escapeHtml(str(v)) : str(v);
}

// ------------------------------------------------------------------ loop object

export class LoopContext extends TemplateObject {
  readonly typeName = 'LoopContext';
  index0 = 0;
  private lastChanged: unknown = MISSING;
  constructor(
    readonly items: unknown[],
    readonly depth0: number,
    readonly recurse: ((iterable: unknown) => unknown) | null,
  ) {
    super();
  }
  /** Counted when first asked for, as Jinja2 does: a list the body appends to keeps its first length. */
  private length = -1;
  getAttr(name: string): unknown {
    const i = this.index0;
    const n = this.items.length;
    switch (name) {
      case 'index': return i + 1;
      case 'index0': return i;
      case 'revindex': return this.counted() - i;
      case 'revindex0': return this.counted() - i - 1;
      case 'first': return i === 0;
      case 'last': return i === n - 1;
      case 'length': return this.counted();
      case 'depth': return this.depth0 + 1;
      case 'depth0': return this.depth0;
      case 'previtem': return i > 0 ? this.items[i - 1] : new Undefined('previtem', this, 'there is no previous item');
      case 'nextitem': return i < n - 1 ? this.items[i + 1] : new Undefined('nextitem', this, 'there is no next item');
      case 'cycle':
        return new PyFunction('cycle', (c) => {
          if (c.args.length === 0) throw new EvalError('no items for cycling given');
          return c.args[i % c.args.length];
        }, '<bound method LoopContext.cycle>');
      case 'changed':
        return new PyFunction('changed', (c) => {
          const value = PyTuple.of2(c.args);
          if (this.lastChanged === MISSING || !eqTuple(this.lastChanged, value)) {
            this.lastChanged = value;
            return true;
          }
          return false;
        }, '<bound method LoopContext.changed>');
    }
    return MISSING;
  }
  private counted(): number {
    if (this.length < 0) this.length = this.items.length;
    return this.length;
  }
  repr(): string {
    return `<LoopContext ${this.index0 + 1}/${this.counted()}>`;
  }
}

function eqTuple(a: unknown, b: unknown): boolean {
  return repr(a) === repr(b);
}

// ------------------------------------------------------------------ expressions

export function compileExpr(node: Node): Expr {
  switch (node.typename) {
    case 'Const': {
      const v = node.value instanceof FloatLiteral ? mkFloat(node.value.value) : node.value;
      return () => v;
    }
    case 'Name': {
      const name: string = node.name;
      return (s, f) => lookupName(s, f, name);
    }
    case 'Tuple': {
      const items = (node.items as Node[]).map(compileExpr);
      return (s, f) => PyTuple.of2(items.map((e) => e(s, f)));
    }
    case 'List': {
      const items = (node.items as Node[]).map(compileExpr);
      return (s, f) => items.map((e) => e(s, f));
    }
    case 'Dict': {
      const pairs = (node.items as Node[]).map((p) => [compileExpr(p.key), compileExpr(p.value)] as const);
      return (s, f) => {
        try {
          const d = new PyDict();
          for (const [k, v] of pairs) d.set(k(s, f), v(s, f));
          return d;
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Getattr': {
      const target = compileExpr(node.target);
      const attr: string = node.attr;
      if (!DICT_ATTRIBUTES.has(attr) && attr.charCodeAt(0) !== 95) {
        // `data.field`, the most common expression: on a dict it can only be the item.
        return (s, f) => {
          const obj = target(s, f);
          try {
            if (obj instanceof PyDict) {
              const v = obj.get(attr);
              return v !== MISSING ? v : new Undefined(attr, obj);
            }
            if (obj !== null && typeof obj === 'object' && Object.getPrototypeOf(obj) === Object.prototype) {
              if (!hasOwn.call(obj, attr)) return new Undefined(attr, obj);
              const v = (obj as Record<string, unknown>)[attr];
              return v === undefined ? null : v;
            }
            if (obj instanceof TemplateObject) {
              // loop.index, cycler.current, … (non-dunder names only reach this path)
              const v = obj.getAttr(attr);
              return v !== MISSING ? v : new Undefined(attr, obj);
            }
            return getattr(obj, attr);
          } catch (e) {
            return relocate(e, node);
          }
        };
      }
      return (s, f) => {
        try {
          return getattr(target(s, f), attr);
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Getitem': {
      const target = compileExpr(node.target);
      const arg: Node = node.arg;
      if (arg.typename === 'Slice') {
        const [a, b, c] = [arg.start, arg.stop, arg.step].map((n: Node | null) => (n ? compileExpr(n) : () => null));
        return (s, f) => {
          try {
            return getitem(target(s, f), new SliceValue(a!(s, f), b!(s, f), c!(s, f)));
          } catch (e) {
            return relocate(e, node);
          }
        };
      }
      const key = compileExpr(arg);
      return (s, f) => {
        try {
          return getitem(target(s, f), key(s, f));
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Call':
      return compileCall(node, null);
    case 'Filter':
      return compileFilter(node, null);
    case 'Test':
      return compileTest(node);
    case 'CondExpr': {
      const test = compileExpr(node.test);
      const a = compileExpr(node.expr1);
      const line = node.lineno + 1;
      const b: Expr = node.expr2
        ? compileExpr(node.expr2)
        : () => new Undefined(undefined, MISSING, `the inline if-expression on line ${line} evaluated to false and no else section was defined.`);
      return (s, f) => (truthy(test(s, f)) ? a(s, f) : b(s, f));
    }
    case 'And': {
      const l = compileExpr(node.left);
      const r = compileExpr(node.right);
      return (s, f) => {
        const v = l(s, f);
        return truthy(v) ? r(s, f) : v;
      };
    }
    case 'Or': {
      const l = compileExpr(node.left);
      const r = compileExpr(node.right);
      return (s, f) => {
        const v = l(s, f);
        return truthy(v) ? v : r(s, f);
      };
    }
    case 'Not': {
      const t = compileExpr(node.target);
      return (s, f) => !truthy(t(s, f));
    }
    case 'Compare': {
      const first = compileExpr(node.expr);
      const ops = (node.ops as Node[]).map((o) => [o.op as string, compileExpr(o.expr)] as const);
      if (ops.length === 1) {
        // `a > b`, `x == 'y'`: one comparison, numbers compared directly
        const [op, second] = ops[0]!;
        return (s, f) => {
          try {
            const left = first(s, f);
            const right = second(s, f);
            if (typeof left === 'number' && typeof right === 'number') {
              switch (op) {
                case 'gt': return left > right;
                case 'lt': return left < right;
                case 'gteq': return left >= right;
                case 'lteq': return left <= right;
                case 'eq': return left === right;
                case 'ne': return left !== right;
              }
            }
            return compare(op, left, right);
          } catch (e) {
            return relocate(e, node);
          }
        };
      }
      return (s, f) => {
        try {
          let left = first(s, f);
          for (const [op, e] of ops) {
            const right = e(s, f);
            if (!compare(op, left, right)) return false;
            left = right;
          }
          return true;
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Add': return binary(node, add);
    case 'Sub': return binary(node, sub);
    case 'Mul': return binary(node, mul);
    case 'Div': return binary(node, truediv);
    case 'FloorDiv': return binary(node, floordiv);
    case 'Mod': return binary(node, mod);
    case 'Pow': return binary(node, pow);
    case 'Concat': {
      const l = compileExpr(node.left);
      const r = compileExpr(node.right);
      // Jinja2's optimizer folds a `~` of constants into a plain str at compile time, so
      // `'<i>' ~ ('<b>'|safe)` is not Markup and is escaped on output; mirror that.
      if (isConstant(node.left) && isConstant(node.right)) return (s, f) => {
        try {
          return concat(l(s, f), r(s, f), false, str);
        } catch (e) {
          return relocate(e, node);
        }
      };
      return (s, f) => {
        try {
          return concat(l(s, f), r(s, f), s.autoescape, str);
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Neg': {
      const t = compileExpr(node.target);
      return (s, f) => {
        try {
          return neg(t(s, f));
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Pos': {
      const t = compileExpr(node.target);
      return (s, f) => {
        try {
          return pos(t(s, f));
        } catch (e) {
          return relocate(e, node);
        }
      };
    }
    case 'Slice':
      throw new TemplateError('syntax', 'a slice is only valid inside [ ]', node.lineno + 1, node.colno + 1);
  }
  throw new TemplateError('syntax', `unsupported expression '${node.typename}'`, node.lineno + 1, node.colno + 1);
}

/** Filters Jinja2 cannot fold at compile time (they need the render context). */
const CONTEXT_FILTERS = new Set(['map', 'select', 'reject', 'selectattr', 'rejectattr', 'random']);

/** Whether Jinja2's optimizer would fold this expression to a constant. */
function isConstant(node: Node | null): boolean {
  if (!node) return true;
  switch (node.typename) {
    case 'Const':
      return true;
    case 'List':
    case 'Tuple':
      return (node.items as Node[]).every(isConstant);
    case 'Dict':
      return (node.items as Node[]).every((p) => isConstant(p.key) && isConstant(p.value));
    case 'Filter':
      return (
        node.target !== null && !CONTEXT_FILTERS.has(node.name) && isConstant(node.target) &&
        (node.args as Node[]).every(isConstant) && (node.kwargs as Node[]).every((k) => isConstant(k.value)) &&
        !node.dynArgs && !node.dynKwargs
      );
    case 'Concat': case 'Add': case 'Sub': case 'Mul': case 'Div': case 'FloorDiv': case 'Mod': case 'Pow':
      return isConstant(node.left) && isConstant(node.right);
    case 'Neg': case 'Pos': case 'Not':
      return isConstant(node.target);
  }
  return false;
}

function binary(node: Node, op: (a: unknown, b: unknown) => unknown): Expr {
  const l = compileExpr(node.left);
  const r = compileExpr(node.right);
  return (s, f) => {
    try {
      return op(l(s, f), r(s, f));
    } catch (e) {
      return relocate(e, node);
    }
  };
}

interface ArgCode {
  args: Expr[];
  kwargs: [string, Expr][];
  dynArgs: Expr | null;
  dynKwargs: Expr | null;
}

function compileArgs(node: Node): ArgCode {
  return {
    args: (node.args as Node[]).map(compileExpr),
    kwargs: (node.kwargs as Node[]).map((k) => [k.key as string, compileExpr(k.value)]),
    dynArgs: node.dynArgs ? compileExpr(node.dynArgs) : null,
    dynKwargs: node.dynKwargs ? compileExpr(node.dynKwargs) : null,
  };
}

function evalArgs(code: ArgCode, s: State, f: Frame, extra: Map<string, unknown> | null): CallArgs {
  const args = code.args.length === 0 ? [] : code.args.map((e) => e(s, f));
  if (code.dynArgs) for (const x of iterate(code.dynArgs(s, f))) args.push(x);
  let kwargs = EMPTY_KWARGS;
  if (code.kwargs.length > 0 || code.dynKwargs || extra) {
    kwargs = new Map();
    for (const [k, e] of code.kwargs) kwargs.set(k, e(s, f));
    if (code.dynKwargs) {
      const d = code.dynKwargs(s, f);
      if (!isDict(d)) throw new EvalError(`argument after ** must be a mapping, not ${typeName(d)}`);
      for (const t of dictItems(d)) {
        if (typeof t[0] !== 'string') throw new EvalError('keywords must be strings');
        if (kwargs.has(t[0])) throw new EvalError(`got multiple values for keyword argument '${t[0]}'`);
        kwargs.set(t[0], t[1]);
      }
    }
    if (extra) for (const [k, v] of extra) kwargs.set(k, v);
  }
  return { args, kwargs };
}

export function callValue(callee: unknown, call: CallArgs, s: State): unknown {
  if (callee instanceof PyFunction) return callee.impl(call, s);
  if (callee instanceof LoopContext) {
    if (!callee.recurse) throw new EvalError('The loop must be marked as recursive to be called recursively (for … in … recursive).');
    if (call.args.length !== 1 || call.kwargs.size > 0) throw new EvalError('loop() takes exactly one argument, the items to loop over');
    return callee.recurse(call.args[0]);
  }
  if (callee instanceof Undefined) callee.fail();
  throw new EvalError(`'${typeName(callee)}' object is not callable`);
}

function compileCall(node: Node, extra: ((s: State, f: Frame) => Map<string, unknown>) | null): Expr {
  const callee = compileExpr(node.callee);
  const code = compileArgs(node);
  const line = node.callee.lineno + 1;
  const column = node.callee.colno + 1;
  return (s, f) => {
    try {
      const fn = callee(s, f);
      const call = evalArgs(code, s, f, extra ? extra(s, f) : null);
      s.step();
      s.callLine = line;
      s.callColumn = column;
      return callValue(fn, call, s);
    } catch (e) {
      return relocate(e, node);
    }
  };
}

/** A filter chain; `hole` supplies the value for a chain without a target (filter/set blocks). */
function compileFilter(node: Node, hole: Expr | null): Expr {
  const target: Expr = node.target ? compileFilter(node.target, hole) : hole!;
  if (node.typename !== 'Filter') return compileExpr(node);
  const impl = FILTERS[node.name as string];
  if (!impl) throw new TemplateError('syntax', `No filter named '${node.name}'.`, node.lineno + 1, node.colno + 1);
  const code = compileArgs(node);
  if (code.args.length === 0 && code.kwargs.length === 0 && !code.dynArgs && !code.dynKwargs) {
    return (s, f) => {
      try {
        return impl(s, target(s, f), NO_ARGS, EMPTY_KWARGS);
      } catch (e) {
        return relocate(e, node);
      }
    };
  }
  if (code.kwargs.length === 0 && !code.dynArgs && !code.dynKwargs) {
    // positional arguments only (`round(2)`, `join(',')`): no keyword map, no call record
    const argc = code.args.length;
    const argv = code.args;
    return (s, f) => {
      try {
        const value = target(s, f);
        const args = new Array<unknown>(argc);
        for (let i = 0; i < argc; i++) args[i] = argv[i]!(s, f);
        return impl(s, value, args, EMPTY_KWARGS);
      } catch (e) {
        return relocate(e, node);
      }
    };
  }
  return (s, f) => {
    try {
      const value = target(s, f);
      const call = evalArgs(code, s, f, null);
      return impl(s, value, call.args, call.kwargs);
    } catch (e) {
      return relocate(e, node);
    }
  };
}

function compileTest(node: Node): Expr {
  const target = compileExpr(node.target);
  const impl = TESTS[node.name as string];
  if (!impl) throw new TemplateError('syntax', `No test named '${node.name}'.`, node.lineno + 1, node.colno + 1);
  const code = compileArgs(node);
  return (s, f) => {
    try {
      const value = target(s, f);
      const call = evalArgs(code, s, f, null);
      return impl(s, value, call.args, call.kwargs);
    } catch (e) {
      return relocate(e, node);
    }
  };
}

// ------------------------------------------------------------------ assignment

type Assigner = (s: State, f: Frame, value: unknown) => void;

function compileAssign(target: Node): Assigner {
  if (target.typename === 'Name') {
    const name: string = target.name;
    return (_s, f, v) => f.set(name, v);
  }
  if (target.typename === 'NSRef') {
    const name: string = target.name;
    const attr: string = target.attr;
    return (s, f, v) => {
      const ns = lookupName(s, f, name);
      if (!(ns instanceof Namespace)) throw new EvalError("can't assign attribute on non-namespace object");
      ns.attrs.set(attr, v);
    };
  }
  if (target.typename === 'Tuple') {
    const parts = (target.items as Node[]).map(compileAssign);
    return (s, f, v) => {
      if (v instanceof Undefined) v.fail();
      const items = iterate(v);
      if (items.length > parts.length) throw new EvalError(`too many values to unpack (expected ${parts.length})`);
      if (items.length < parts.length) throw new EvalError(`not enough values to unpack (expected ${parts.length}, got ${items.length})`);
      parts.forEach((p, i) => p(s, f, items[i]));
    };
  }
  throw new TemplateError('syntax', `can't assign to ${target.typename}`, target.lineno + 1, target.colno + 1);
}

// ------------------------------------------------------------------ statements

function compileBody(body: Node | null | undefined): Stmt {
  if (!body) return () => undefined;
  const stmts: Stmt[] = [];
  let run: Node[] = [];
  const flush = () => {
    if (run.length > 0) stmts.push(run.length === 1 ? compileOutput(run[0]!) : compileOutputRun(run));
    run = [];
  };
  for (const child of body.children as Node[]) {
    if (child.typename === 'Output' && (child.nodes as Node[]).length === 1) run.push(child);
    else {
      flush();
      stmts.push(compileStmt(child));
    }
  }
  flush();
  if (stmts.length === 1) return stmts[0]!;
  const n = stmts.length;
  return (s, f, out) => {
    for (let i = 0; i < n; i++) stmts[i]!(s, f, out);
  };
}

function guardStmt(node: Node, fn: Stmt): Stmt {
  return (s, f, out) => {
    try {
      fn(s, f, out);
    } catch (e) {
      relocate(e, node);
    }
  };
}

function captured(s: State, text: string): string | Markup {
  return s.autoescape ? new Markup(text) : text;
}

/** Names a macro body reads that switch on Jinja2's special parameters. */
function usesName(body: Node, name: string): boolean {
  let hit = false;
  const walk = (n: unknown): void => {
    if (hit || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    const node = n as Node;
    if (typeof node.typename !== 'string') return;
    if (node.typename === 'Name' && node.name === name) {
      hit = true;
      return;
    }
    if (node.typename === 'Macro') return; // a nested macro has its own
    for (const k of Object.keys(node)) if (k !== 'lineno' && k !== 'colno') walk(node[k]);
  };
  walk(body);
  return hit;
}

interface MacroSpec {
  name: string;
  params: string[];
  defaults: Expr[];
  body: Stmt;
  catchVarargs: boolean;
  catchKwargs: boolean;
  usesCaller: boolean;
}

function makeMacro(spec: MacroSpec, defFrame: Frame, isCaller: boolean): PyFunction {
  const nParams = spec.params.length;
  const firstDefault = nParams - spec.defaults.length;
  return new PyFunction(
    spec.name,
    (call, rt) => {
      const s = rt as State;
      const kwargs = new Map(call.kwargs);
      const frame = new Frame(defFrame);
      let caller: unknown = MISSING;
      if (kwargs.has('caller') && !spec.params.includes('caller')) {
        caller = kwargs.get('caller');
        kwargs.delete('caller');
        if (!spec.usesCaller) throw new EvalError(`macro '${spec.name}' was invoked with two values for the special caller argument. This is most likely a bug.`);
      }
      if (call.args.length > nParams && !spec.catchVarargs) {
        throw new EvalError(`macro '${spec.name}' takes not more than ${nParams} argument(s)`);
      }
      for (let i = 0; i < nParams; i++) {
        const p = spec.params[i]!;
        let v: unknown;
        if (i < call.args.length) {
          if (kwargs.has(p)) throw new EvalError(`macro '${spec.name}' got multiple values for argument '${p}'`);
          v = call.args[i];
        } else if (kwargs.has(p)) {
          v = kwargs.get(p);
          kwargs.delete(p);
        } else if (i >= firstDefault) {
          v = spec.defaults[i - firstDefault]!(s, frame);
        } else {
          v = new Undefined(p, MISSING, `parameter '${p}' was not provided`);
        }
        frame.set(p, v);
      }
      if (kwargs.size > 0 && !spec.catchKwargs) {
        throw new EvalError(`macro '${spec.name}' takes no keyword argument '${kwargs.keys().next().value}'`);
      }
      if (spec.catchVarargs) frame.set('varargs', PyTuple.of2(call.args.slice(nParams)));
      if (spec.catchKwargs) frame.set('kwargs', PyDict.from(kwargs));
      if (!isCaller && spec.usesCaller) frame.set('caller', caller === MISSING ? new Undefined('caller', MISSING, 'No caller defined') : caller);
      s.enter();
      try {
        const out = new Out();
        spec.body(s, frame, out);
        return captured(s, out.toString());
      } finally {
        s.leave();
      }
    },
    `<Macro '${spec.name}'>`,
  );
}

function macroSpec(name: string, node: Node): MacroSpec {
  const params = (node.args as Node[]).map((a) => a.name as string);
  return {
    name,
    params,
    defaults: (node.defaults as Node[]).map(compileExpr),
    body: compileBody(node.body),
    catchVarargs: usesName(node.body, 'varargs'),
    catchKwargs: usesName(node.body, 'kwargs'),
    usesCaller: usesName(node.body, 'caller'),
  };
}

export function compileStmt(node: Node): Stmt {
  switch (node.typename) {
    case 'Output':
      return compileOutput(node);
    case 'If': {
      const tests = [node, ...(node.elifs as Node[])].map((b) => compileExpr(b.test));
      const bodies = [node, ...(node.elifs as Node[])].map((b) => compileBody(b.body));
      const else_ = compileBody(node.else_);
      if (tests.length === 1) {
        const test = tests[0]!;
        const body = bodies[0]!;
        return (s, f, out) => (truthy(test(s, f)) ? body(s, f, out) : else_(s, f, out));
      }
      return (s, f, out) => {
        for (let i = 0; i < tests.length; i++) {
          if (truthy(tests[i]!(s, f))) return bodies[i]!(s, f, out);
        }
        else_(s, f, out);
      };
    }
    case 'For':
      return compileFor(node);
    case 'Assign': {
      const value = compileExpr(node.value);
      const assign = compileAssign(node.target);
      return guardStmt(node, (s, f) => assign(s, f, value(s, f)));
    }
    case 'AssignBlock': {
      const body = compileBody(node.body);
      const assign = compileAssign(node.target);
      const holeName = '\u0000block';
      const hole: Expr = (_s, f) => f.own(holeName);
      const filter = node.filter ? compileFilter(node.filter, hole) : null;
      return guardStmt(node, (s, f, _out) => {
        const buf = new Out();
        body(s, new Frame(f), buf);
        let value: unknown = captured(s, buf.toString());
        if (filter) {
          const tmp = new Frame(f);
          tmp.set(holeName, value);
          value = filter(s, tmp);
        }
        assign(s, f, value);
      });
    }
    case 'Macro': {
      const spec = macroSpec(node.name, node);
      const name: string = node.name;
      return (_s, f) => f.set(name, makeMacro(spec, f, false));
    }
    case 'CallBlock': {
      const spec = macroSpec('caller', node);
      const call = compileCall(node.call, (_s, f) => new Map([['caller', makeMacro(spec, f, true)]]));
      return guardStmt(node, (s, f, out) => out.push(toOutput(call(s, f), s.autoescape)));
    }
    case 'FilterBlock': {
      const body = compileBody(node.body);
      const holeName = '\u0000block';
      const filter = compileFilter(node.filter, (_s, f) => f.own(holeName));
      return guardStmt(node, (s, f, out) => {
        const buf = new Out();
        const inner = new Frame(f);
        body(s, inner, buf);
        const tmp = new Frame(f);
        tmp.set(holeName, captured(s, buf.toString()));
        // Jinja2 writes a filter block's result as it is — no str(), no escaping — so only text works
        const v = filter(s, tmp);
        if (typeof v === 'string') out.push(v);
        else if (v instanceof Markup) out.push(v.s);
        else throw new EvalError(`sequence item 0: expected str instance, ${typeName(v)} found`);
      });
    }
    case 'With': {
      const values = (node.values as Node[]).map(compileExpr);
      const targets = (node.targets as Node[]).map(compileAssign);
      const body = compileBody(node.body);
      return guardStmt(node, (s, f, out) => {
        const vs = values.map((v) => v(s, f));
        const inner = new Frame(f);
        targets.forEach((t, i) => t(s, inner, vs[i]));
        body(s, inner, out);
      });
    }
    case 'Autoescape': {
      const value = compileExpr(node.value);
      const body = compileBody(node.body);
      return (s, f, out) => {
        const saved = s.autoescape;
        s.autoescape = truthy(value(s, f));
        try {
          body(s, new Frame(f), out);
        } finally {
          s.autoescape = saved;
        }
      };
    }
    case 'Block': {
      const body = compileBody(node.body);
      return (s, f, out) => body(s, new Frame(f), out);
    }
    case 'NodeList':
    case 'Root':
      return compileBody(node);
  }
  throw new TemplateError('syntax', `unsupported statement '${node.typename}'`, node.lineno + 1, node.colno + 1);
}

function compileOutput(node: Node): Stmt {
  const items = node.nodes as Node[];
  const parts: (string | Expr)[] = items.map((n) => (n.typename === 'TemplateData' ? (n.value as string) : compileExpr(n)));
  const start: number = node.start;
  const end: number = node.end;
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const text = parts[0];
    return (_s, _f, out) => out.push(text);
  }
  if (parts.length === 1) {
    const e = parts[0] as Expr;
    return (s, f, out) => {
      try {
        const v = e(s, f);
        if (typeof v === 'string') out.push(s.autoescape ? escapeHtml(v) : v);
        // docs/design.md#autoescape-and-unknown-names: an unknown secret/variable leaves the original `{{ … }}` text in place
        else if (v instanceof MissingRef && start >= 0) out.push(s.source.slice(start, end));
        else out.push(toOutput(v, s.autoescape));
      } catch (e) {
        relocate(e, node);
      }
    };
  }
  return guardStmt(node, (s, f, out) => {
    for (const p of parts) out.push(typeof p === 'string' ? p : toOutput(p(s, f), s.autoescape));
  });
}

/**
 * Consecutive `{{ … }}` tags and text (a template's usual shape): one closure that builds their
 * text locally and appends it once, instead of a statement call and an output append per part.
 * Each tag keeps compileOutput's semantics and its own error position.
 */
function compileOutputRun(nodes: Node[]): Stmt {
  const texts: (string | null)[] = [];
  const exprs: (Expr | null)[] = [];
  const owners: Node[] = [];
  for (const node of nodes) {
    const item = (node.nodes as Node[])[0]!;
    if (item.typename === 'TemplateData') {
      const last = texts.length - 1;
      if (last >= 0 && texts[last] !== null) texts[last] += item.value as string;
      else {
        texts.push(item.value as string);
        exprs.push(null);
        owners.push(node);
      }
    } else {
      texts.push(null);
      exprs.push(compileExpr(item));
      owners.push(node);
    }
  }
  const n = texts.length;
  return (s, f, out) => {
    let text = '';
    let i = 0;
    try {
      for (; i < n; i++) {
        const e = exprs[i];
        if (e === null) {
          text += texts[i]!;
          continue;
        }
        const v = e!(s, f);
        if (typeof v === 'string') text += s.autoescape ? escapeHtml(v) : v;
        else if (v instanceof MissingRef && owners[i]!.start >= 0) text += s.source.slice(owners[i]!.start, owners[i]!.end);
        else text += toOutput(v, s.autoescape);
        if (text.length > LIMITS.maxOutput) out.push(text); // throws: the output cap, before the run grows further
      }
    } catch (err) {
      relocate(err, owners[i]!);
    }
    out.push(text);
  };
}

function compileFor(node: Node): Stmt {
  const iter = compileExpr(node.iter);
  const assign = compileAssign(node.target);
  const test = node.test ? compileExpr(node.test) : null;
  const body = compileBody(node.body);
  const else_ = node.else_ ? compileBody(node.else_) : null;
  const recursive: boolean = node.recursive;
  const targetName: string | null = node.target.typename === 'Name' ? node.target.name : null;

  const run = (s: State, f: Frame, out: Out, iterable: unknown, depth0: number): void => {
    if (iterable === null || iterable === undefined) throw new EvalError("'NoneType' object is not iterable");
    let items = iterate(iterable);
    if (test) {
      const kept: unknown[] = [];
      for (const item of items) {
        s.step();
        const fr = new Frame(f);
        assign(s, fr, item);
        if (truthy(test(s, fr))) kept.push(item);
      }
      items = kept;
    }
    if (items.length === 0) {
      if (else_) else_(s, new Frame(f), out);
      return;
    }
    const recurse = recursive
      ? (inner: unknown) => {
          s.enter();
          try {
            const buf = new Out();
            run(s, f, buf, inner, depth0 + 1);
            return captured(s, buf.toString());
          } finally {
            s.leave();
          }
        }
      : null;
    const loop = new LoopContext(items, depth0, recurse);
    for (let i = 0; i < items.length; i++) {
      s.step();
      loop.index0 = i;
      let fr: Frame;
      if (targetName !== null) fr = Frame.with2(f, targetName, items[i], 'loop', loop);
      else {
        fr = new Frame(f);
        assign(s, fr, items[i]);
        fr.set('loop', loop);
      }
      body(s, fr, out);
    }
  };
  return guardStmt(node, (s, f, out) => run(s, f, out, iter(s, f), 0));
}

