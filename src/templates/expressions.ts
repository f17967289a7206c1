import { FILTERS, TESTS, type FilterFn } from './builtins.js';
import { EvalError, TemplateError } from './errors.js';
import { GLOBALS, RESERVED } from './functions.js';
import { DICT_ATTRIBUTES, SliceValue, getattr, getitem } from './lookup.js';
import { add, compare, concat, floordiv, mod, mul, neg, pos, pow, sub, truediv } from './ops.js';
import { FloatLiteral, type Node } from './nodes.js';
import type { Expr, Frame, Out, State } from './state.js';
import { mkFloat } from './numbers.js';
import { iterate, str, truthy } from './protocols.js';
import {
  dictItems, isDict, MISSING, PyDict, PyFunction, PyTuple, TemplateObject, typeName, Undefined, type CallArgs,
} from './values.js';

/**
 * Expressions: each AST node is turned once into a closure (compile once, run many; no parsing or
 * tree walking on the request path) implementing the node's Jinja2 3.1 semantics over the value
 * model in values.ts — names, literals, lookups, operators, calls, filters and tests. Nothing here
 * ever calls nunjucks' compiler or runtime.
 */

const hasOwn = Object.prototype.hasOwnProperty;
const EMPTY_KWARGS: Map<string, unknown> = new Map();
/** Shared by argument-less filter calls; filters never modify their argument arrays. */
const NO_ARGS: unknown[] = [];

/**
 * The one way errors get their position: the operations below throw EvalError without one, and the
 * innermost node whose closure is `positioned` reports it at its own line and column. (A run of
 * output tags, statements.ts, relocates per tag with the same function.) The closure keeps the
 * position, never the node: a node reaches its whole subtree, and every compiled template would
 * keep its syntax tree alive beside its closures.
 */
export function positioned<T extends (s: State, f: Frame, out: Out) => unknown>(node: Node, run: T): T {
  const line = node.lineno + 1;
  const column = node.colno + 1;
  return ((s: State, f: Frame, out: Out) => {
    try {
      return run(s, f, out);
    } catch (e) {
      return relocate(e, line, column);
    }
  }) as T;
}

/** Rethrows `e` as a TemplateError at the 1-based `line` and `column` (one that has a position keeps it). */
export function relocate(e: unknown, line: number, column: number): never {
  if (e instanceof TemplateError) throw e;
  if (e instanceof EvalError) throw new TemplateError(e.kind, e.message, line, column);
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    throw new TemplateError('limit', 'maximum recursion depth exceeded', line, column);
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
      return positioned(node, (s, f) => {
        const d = new PyDict();
        for (const [k, v] of pairs) d.set(k(s, f), v(s, f));
        return d;
      });
    }
    case 'Getattr': {
      const target = compileExpr(node.target);
      const attr: string = node.attr;
      if (!DICT_ATTRIBUTES.has(attr) && attr.charCodeAt(0) !== 95) {
        // `data.field`, the most common expression: on a dict it can only be the item.
        return positioned(node, (s, f) => {
          const obj = target(s, f);
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
        });
      }
      return positioned(node, (s, f) => {
        return getattr(target(s, f), attr);
      });
    }
    case 'Getitem': {
      const target = compileExpr(node.target);
      const arg: Node = node.arg;
      if (arg.typename === 'Slice') {
        const [a, b, c] = [arg.start, arg.stop, arg.step].map((n: Node | null) => (n ? compileExpr(n) : () => null));
        return positioned(node, (s, f) => {
          return getitem(target(s, f), new SliceValue(a!(s, f), b!(s, f), c!(s, f)));
        });
      }
      const key = compileExpr(arg);
      return positioned(node, (s, f) => {
        return getitem(target(s, f), key(s, f));
      });
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
        return positioned(node, (s, f) => {
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
        });
      }
      return positioned(node, (s, f) => {
        let left = first(s, f);
        for (const [op, e] of ops) {
          const right = e(s, f);
          if (!compare(op, left, right)) return false;
          left = right;
        }
        return true;
      });
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
      if (isConstant(node.left) && isConstant(node.right)) return positioned(node, (s, f) => {
        return concat(l(s, f), r(s, f), false, str);
      });
      return positioned(node, (s, f) => {
        return concat(l(s, f), r(s, f), s.autoescape, str);
      });
    }
    case 'Neg': {
      const t = compileExpr(node.target);
      return positioned(node, (s, f) => {
        return neg(t(s, f));
      });
    }
    case 'Pos': {
      const t = compileExpr(node.target);
      return positioned(node, (s, f) => {
        return pos(t(s, f));
      });
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
  return positioned(node, (s, f) => {
    return op(l(s, f), r(s, f));
  });
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

function callValue(callee: unknown, call: CallArgs, s: State): unknown {
  if (callee instanceof PyFunction) return callee.impl(call, s);
  if (callee instanceof TemplateObject && callee.call) return callee.call(call);
  if (callee instanceof Undefined) callee.fail();
  throw new EvalError(`'${typeName(callee)}' object is not callable`);
}

export function compileCall(node: Node, extra: ((s: State, f: Frame) => Map<string, unknown>) | null): Expr {
  const callee = compileExpr(node.callee);
  const code = compileArgs(node);
  const line = node.callee.lineno + 1;
  const column = node.callee.colno + 1;
  return positioned(node, (s, f) => {
    const fn = callee(s, f);
    const call = evalArgs(code, s, f, extra ? extra(s, f) : null);
    s.step();
    s.callLine = line;
    s.callColumn = column;
    return callValue(fn, call, s);
  });
}

/** A filter chain; `hole` supplies the value for a chain without a target (filter/set blocks). */
export function compileFilter(node: Node, hole: Expr | null): Expr {
  const target: Expr = node.target ? compileFilter(node.target, hole) : hole!;
  if (node.typename !== 'Filter') return compileExpr(node);
  const impl = FILTERS[node.name as string];
  if (!impl) throw new TemplateError('syntax', `No filter named '${node.name}'.`, node.lineno + 1, node.colno + 1);
  const code = compileArgs(node);
  if (code.args.length === 0 && code.kwargs.length === 0 && !code.dynArgs && !code.dynKwargs) return filterWithoutArgs(node, impl, target);
  if (code.kwargs.length === 0 && !code.dynArgs && !code.dynKwargs) return filterWithPositional(node, impl, target, code.args);
  return positioned(node, (s, f) => {
    const value = target(s, f);
    const call = evalArgs(code, s, f, null);
    return impl(s, value, call.args, call.kwargs);
  });
}

// The two common filter shapes are made by functions of their own: a closure's context holds every
// variable any closure of its function captures, and these need neither the call record nor its arrays.

function filterWithoutArgs(node: Node, impl: FilterFn, target: Expr): Expr {
  return positioned(node, (s, f) => {
    return impl(s, target(s, f), NO_ARGS, EMPTY_KWARGS);
  });
}

/** Positional arguments only (`round(2)`, `join(',')`): no keyword map, no call record. */
function filterWithPositional(node: Node, impl: FilterFn, target: Expr, argv: Expr[]): Expr {
  const argc = argv.length;
  return positioned(node, (s, f) => {
    const value = target(s, f);
    const args = new Array<unknown>(argc);
    for (let i = 0; i < argc; i++) args[i] = argv[i]!(s, f);
    return impl(s, value, args, EMPTY_KWARGS);
  });
}

function compileTest(node: Node): Expr {
  const target = compileExpr(node.target);
  const impl = TESTS[node.name as string];
  if (!impl) throw new TemplateError('syntax', `No test named '${node.name}'.`, node.lineno + 1, node.colno + 1);
  const code = compileArgs(node);
  return positioned(node, (s, f) => {
    const value = target(s, f);
    const call = evalArgs(code, s, f, null);
    return impl(s, value, call.args, call.kwargs);
  });
}
