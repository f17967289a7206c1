import { EvalError } from './errors.js';
import { contains, mod } from './ops.js';
import type { State } from './state.js';
import { isFloat, isInt, isNumber, PyFloat } from './numbers.js';
import { eq, isIterable, lt, str } from './protocols.js';
import { asString, isDict, Markup, PyBytes, PyFunction, PyRange, TemplateObject, Undefined } from './values.js';

/** Jinja2 3.1's builtin tests (tests.py), used by `is` and by select/reject. */
export type TestFn = (s: State, value: unknown, args: unknown[], kwargs: Map<string, unknown>) => boolean;

function one(name: string, args: unknown[], kwargs: Map<string, unknown>): unknown {
  const all = [...args, ...kwargs.values()];
  if (all.length !== 1) throw new EvalError(`${name}() takes exactly one argument (${all.length} given)`);
  return all[0];
}

function none(name: string, args: unknown[], kwargs: Map<string, unknown>): void {
  if (args.length > 0 || kwargs.size > 0) throw new EvalError(`test_${name}() takes 1 positional argument but ${args.length + 1} were given`);
}

/** Tests that take no argument reject one, as Python does ("takes 1 positional argument"). */
function noArgs(name: string, fn: (s: State, v: unknown) => boolean): TestFn {
  return (s, v, args, kwargs) => {
    none(name, args, kwargs);
    return fn(s, v);
  };
}

const cmp = (name: string, f: (a: unknown, b: unknown) => boolean): TestFn => (_s, v, a, k) => f(v, one(name, a, k));

const isLower = (s: string) => /\p{Ll}/u.test(s) && !/\p{Lu}|\p{Lt}/u.test(s);
const isUpper = (s: string) => /\p{Lu}/u.test(s) && !/\p{Ll}|\p{Lt}/u.test(s);

function isCallable(v: unknown): boolean {
  return v instanceof PyFunction || (v instanceof TemplateObject && v.typeName === 'LoopContext');
}

/** The tests about values; builtins.ts adds `filter` and `test`, which name other builtins. */
export const VALUE_TESTS: Record<string, TestFn> = {
  odd: (_s: State, v: unknown, a: unknown[], k: Map<string, unknown>) => (none('odd', a, k), eq(mod(v, 2), 1)),
  even: (_s: State, v: unknown, a: unknown[], k: Map<string, unknown>) => (none('even', a, k), eq(mod(v, 2), 0)),
  divisibleby: cmp('divisibleby', (v, n) => eq(mod(v, n), 0)),
  defined: noArgs('defined', (_s: State, v: unknown) => !(v instanceof Undefined)),
  undefined: noArgs('undefined', (_s: State, v: unknown) => v instanceof Undefined),
  none: noArgs('none', (_s: State, v: unknown) => v === null || v === undefined),
  boolean: noArgs('boolean', (_s: State, v: unknown) => typeof v === 'boolean'),
  false: noArgs('false', (_s: State, v: unknown) => v === false),
  true: noArgs('true', (_s: State, v: unknown) => v === true),
  integer: noArgs('integer', (_s: State, v: unknown) => isInt(v)),
  float: noArgs('float', (_s: State, v: unknown) => isFloat(v)),
  lower: noArgs('lower', (_s: State, v: unknown) => isLower(str(v))),
  upper: noArgs('upper', (_s: State, v: unknown) => isUpper(str(v))),
  string: noArgs('string', (_s: State, v: unknown) => asString(v) !== undefined),
  mapping: noArgs('mapping', (_s: State, v: unknown) => isDict(v)),
  number: noArgs('number', (_s: State, v: unknown) => isNumber(v)),
  sequence: noArgs('sequence', (_s: State, v: unknown) =>
    // Undefined has len() and __getitem__, so Jinja2 calls it a sequence too
    Array.isArray(v) || asString(v) !== undefined || isDict(v) || v instanceof PyRange || v instanceof PyBytes || v instanceof Undefined),
  iterable: noArgs('iterable', (_s: State, v: unknown) => isIterable(v)),
  callable: noArgs('callable', (_s: State, v: unknown) => isCallable(v)),
  sameas: cmp('sameas', (v, o) => {
    if (v === o) return true;
    if (v instanceof PyFloat || o instanceof PyFloat) return false;
    return false;
  }),
  escaped: noArgs('escaped', (_s: State, v: unknown) => v instanceof Markup),
  in: cmp('in', (v, seq) => contains(seq, v)),
  '==': cmp('eq', eq),
  eq: cmp('eq', eq),
  equalto: cmp('eq', eq),
  '!=': cmp('ne', (a, b) => !eq(a, b)),
  ne: cmp('ne', (a, b) => !eq(a, b)),
  '>': cmp('gt', (a, b) => lt(b, a, '>')),
  gt: cmp('gt', (a, b) => lt(b, a, '>')),
  greaterthan: cmp('gt', (a, b) => lt(b, a, '>')),
  '>=': cmp('ge', (a, b) => !lt(a, b, '>=')),
  ge: cmp('ge', (a, b) => !lt(a, b, '>=')),
  '<': cmp('lt', (a, b) => lt(a, b, '<')),
  lt: cmp('lt', (a, b) => lt(a, b, '<')),
  lessthan: cmp('lt', (a, b) => lt(a, b, '<')),
  '<=': cmp('le', (a, b) => !lt(b, a, '<=')),
  le: cmp('le', (a, b) => !lt(b, a, '<=')),
};

