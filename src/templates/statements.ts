import { EvalError, TemplateError } from './errors.js';
import { escapeHtml } from './escape.js';
import { compileCall, compileExpr, compileFilter, lookupName, positioned, relocate } from './expressions.js';
import { LIMITS } from './limits.js';
import { forLoop } from './loops.js';
import { makeMacro, usesName, type MacroSpec } from './macros.js';
import type { Node } from './nodes.js';
import { Frame, Out, captured, type Assigner, type Expr, type Stmt } from './state.js';
import { floatRepr, intStr } from './numbers.js';
import { iterate, str, truthy } from './protocols.js';
import { Markup, MissingRef, Namespace, typeName, Undefined } from './values.js';

/**
 * Statements: output, `if`, `set` (with targets, namespaces and blocks), `with`, `filter` and
 * `autoescape` blocks, and where `for`, `macro` and `call` are assembled from their compiled parts
 * (loops.ts, macros.ts). The template's root is a statement list.
 */

/** What `{{ value }}` prints. */
export function toOutput(v: unknown, autoescape: boolean): string {
  if (typeof v === 'string') return autoescape ? escapeHtml(v) : v;
  // a number's text never needs escaping
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : floatRepr(v);
  if (v instanceof Markup) return v.s;
  if (v instanceof MissingRef) return v.text;
  return autoescape ? escapeHtml(str(v)) : str(v);
}

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
  return stmts.length === 1 ? stmts[0]! : sequence(stmts);
}

/** Statements run in order. A function of its own, so the closure's context holds only the list (an exact-size copy: kept for the template's life). */
function sequence(stmts: Stmt[]): Stmt {
  const held = stmts.slice();
  const n = held.length;
  return (s, f, out) => {
    for (let i = 0; i < n; i++) held[i]!(s, f, out);
  };
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
      return positioned(node, (s, f) => assign(s, f, value(s, f)));
    }
    case 'AssignBlock': {
      const body = compileBody(node.body);
      const assign = compileAssign(node.target);
      const holeName = '\u0000block';
      const hole: Expr = (_s, f) => f.own(holeName);
      const filter = node.filter ? compileFilter(node.filter, hole) : null;
      return positioned(node, (s, f, _out) => {
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
      return positioned(node, (s, f, out) => out.push(toOutput(call(s, f), s.autoescape)));
    }
    case 'FilterBlock': {
      const body = compileBody(node.body);
      const holeName = '\u0000block';
      const filter = compileFilter(node.filter, (_s, f) => f.own(holeName));
      return positioned(node, (s, f, out) => {
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
      return positioned(node, (s, f, out) => {
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
    return positioned(node, (s, f, out) => {
      const v = e(s, f);
      if (typeof v === 'string') out.push(s.autoescape ? escapeHtml(v) : v);
      // docs/design.md#autoescape-and-unknown-names: an unknown secret/variable leaves the original `{{ … }}` text in place
      else if (v instanceof MissingRef && start >= 0) out.push(s.source.slice(start, end));
      else out.push(toOutput(v, s.autoescape));
    });
  }
  return positioned(node, (s, f, out) => {
    for (const p of parts) out.push(typeof p === 'string' ? p : toOutput(p(s, f), s.autoescape));
  });
}

/**
 * Consecutive `{{ … }}` tags and text (a template's usual shape): one closure that builds their
 * text locally and appends it once, instead of a statement call and an output append per part.
 * Each tag keeps compileOutput's semantics and its own error position.
 */
function compileOutputRun(nodes: Node[]): Stmt {
  // Adjacent texts are collected and joined once: `+=` at compile time would keep each as a rope.
  const pieces: (string[] | null)[] = [];
  const compiled: (Expr | null)[] = [];
  // Per part, four numbers: the tag's source offsets (its text when a secret/variable is unknown)
  // and its line and column for errors. Numbers, not the nodes: a closure holding a node keeps its
  // whole subtree alive.
  const positions: number[] = [];
  for (const node of nodes) {
    const item = (node.nodes as Node[])[0]!;
    if (item.typename === 'TemplateData') {
      const last = pieces.length - 1;
      if (last >= 0 && pieces[last] !== null) {
        pieces[last]!.push(item.value as string);
        continue;
      }
      pieces.push([item.value as string]);
      compiled.push(null);
    } else {
      pieces.push(null);
      compiled.push(compileExpr(item));
    }
    positions.push(node.start as number, node.end as number, node.lineno + 1, node.colno + 1);
  }
  // Kept for the template's life: exact-size copies (an array grown by push keeps 17+ slots).
  const texts = pieces.map((p) => (p === null ? null : p.join('')));
  const exprs = compiled.slice();
  const at = positions.slice();
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
        else if (v instanceof MissingRef && at[4 * i]! >= 0) text += s.source.slice(at[4 * i], at[4 * i + 1]);
        else text += toOutput(v, s.autoescape);
        if (text.length > LIMITS.maxOutput) out.push(text); // throws: the output cap, before the run grows further
      }
    } catch (err) {
      relocate(err, at[4 * i + 2]!, at[4 * i + 3]!);
    }
    out.push(text);
  };
}

function compileFor(node: Node): Stmt {
  const loop = forLoop({
    iter: compileExpr(node.iter),
    assign: compileAssign(node.target),
    targetName: node.target.typename === 'Name' ? node.target.name : null,
    test: node.test ? compileExpr(node.test) : null,
    body: compileBody(node.body),
    else_: node.else_ ? compileBody(node.else_) : null,
    recursive: node.recursive,
  });
  return positioned(node, loop);
}
