import { EvalError } from './errors.js';
import type { Node } from './nodes.js';
import { Frame, Out, captured, type Expr, type State, type Stmt } from './state.js';
import { MISSING, PyDict, PyFunction, PyTuple, Undefined } from './values.js';

/**
 * `{% macro %}` and `{% call %}`: a macro is a function value binding Jinja2's way — positional
 * and keyword arguments, defaults evaluated at each call, `varargs`, `kwargs` and `caller` when the
 * body reads them — and rendering its body into a string (Markup when autoescaping).
 */

/** Names a macro body reads that switch on Jinja2's special parameters. */
export function usesName(body: Node, name: string): boolean {
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

export interface MacroSpec {
  name: string;
  params: string[];
  defaults: Expr[];
  body: Stmt;
  catchVarargs: boolean;
  catchKwargs: boolean;
  usesCaller: boolean;
}

export function makeMacro(spec: MacroSpec, defFrame: Frame, isCaller: boolean): PyFunction {
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
