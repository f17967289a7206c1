import { EvalError } from './errors.js';
import type { CallArgs } from './values.js';

/**
 * Positional/keyword binding for builtin methods and functions, the way CPython binds them:
 * `params` in order, a parameter given as `[name]` alone is required, `[name, default]` optional.
 */
export function bind(fname: string, call: CallArgs, params: [string, unknown?][]): unknown[] {
  const { args, kwargs } = call;
  const n = params.length;
  if (args.length > n) {
    throw new EvalError(`${fname}() takes at most ${n} argument${n === 1 ? '' : 's'} (${args.length} given)`);
  }
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = i < args.length ? args[i] : params[i]![1];
  if (kwargs.size > 0) {
    for (const [k, v] of kwargs) {
      let i = 0;
      while (i < n && params[i]![0] !== k) i++;
      if (i === n) throw new EvalError(`${fname}() got an unexpected keyword argument '${k}'`);
      if (i < args.length) throw new EvalError(`${fname}() got multiple values for argument '${k}'`);
      out[i] = v;
    }
  }
  for (let i = args.length; i < n; i++) {
    const p = params[i]!;
    if (p.length === 1 && (kwargs.size === 0 || !kwargs.has(p[0]))) throw new EvalError(`${fname}() missing required argument: '${p[0]}'`);
  }
  return out;
}

/** CPython's methods written in C take positional arguments only (`list.append(x)`). */
export function positional(fname: string, call: CallArgs, min: number, max: number): unknown[] {
  if (call.kwargs.size > 0) throw new EvalError(`${fname}() takes no keyword arguments`);
  const n = call.args.length;
  if (n < min || n > max) {
    const expected = min === max ? `exactly ${min} argument${min === 1 ? '' : 's'}` : n < min ? `at least ${min} argument${min === 1 ? '' : 's'}` : `at most ${max} argument${max === 1 ? '' : 's'}`;
    throw new EvalError(`${fname}() takes ${expected} (${n} given)`);
  }
  return call.args;
}
