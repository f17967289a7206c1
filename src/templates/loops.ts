import { EvalError } from './errors.js';
import { Frame, Out, captured, type Assigner, type Expr, type State, type Stmt } from './state.js';
import { iterate, repr, truthy } from './protocols.js';
import { MISSING, PyFunction, PyTuple, TemplateObject, Undefined, type CallArgs } from './values.js';

/**
 * `{% for %}`: the loop object Jinja2 gives the body (`loop.index`, `loop.cycle()`, `loop(…)` in a
 * recursive loop, …) and the loop itself — inline filter, `else`, recursion — over the compiled
 * parts statements.ts hands over.
 */

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
  /** `loop(children)` in a recursive loop. */
  override call(call: CallArgs): unknown {
    if (!this.recurse) throw new EvalError('The loop must be marked as recursive to be called recursively (for … in … recursive).');
    if (call.args.length !== 1 || call.kwargs.size > 0) throw new EvalError('loop() takes exactly one argument, the items to loop over');
    return this.recurse(call.args[0]);
  }
  repr(): string {
    return `<LoopContext ${this.index0 + 1}/${this.counted()}>`;
  }
}

function eqTuple(a: unknown, b: unknown): boolean {
  return repr(a) === repr(b);
}

export interface ForParts {
  iter: Expr;
  /** Binds one item: the target name or an unpacking. */
  assign: Assigner;
  /** The target when it is a plain name (the common case, bound without an assigner call). */
  targetName: string | null;
  /** The inline filter (`for x in xs if x.on`). */
  test: Expr | null;
  body: Stmt;
  else_: Stmt | null;
  recursive: boolean;
}

export function forLoop(parts: ForParts): Stmt {
  const { iter, assign, targetName, test, body, else_, recursive } = parts;
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
  return (s, f, out) => run(s, f, out, iter(s, f), 0);
}
