import { positional } from './args.js';
import { EvalError } from './errors.js';
import { isInt } from './numbers.js';
import { eq, iterate, lt, repr } from './protocols.js';
import {
  dictEntries, hashKey, isPlainObject, MISSING, PyDict, PyFunction, PyTuple, TemplateObject, toJsNumber, typeName, Undefined,
  type CallArgs, type DictLike, type Runtime,
} from './values.js';

/**
 * The methods that change a list or a dict (`append`, `update`, `pop`, …), as Jinja2's
 * SandboxedEnvironment allows them, and the private copies that keep their effect inside one render.
 *
 * Context data is shared: the runtime hands the same parsed session, connector configuration and
 * cached values to many renders, and a compiled template runs for every request. So a render that
 * mutates works on copies. Every mutating method first asks the render for permission
 * (`Runtime.beforeMutation`); a render that started on the shared data stops there — before anything
 * has changed — and runs again from the start with every context value it reads copied on first
 * use (`privateCopy`, memoised per render so aliases stay aliases). The compiled template remembers
 * that it mutates, so the next renders start on copies directly. List and dict literals are built
 * afresh at each evaluation, so they were never shared.
 */

/** Thrown by a mutating method in a render that still reads shared data; the render starts over on copies. */
export const RENDER_ON_COPIES: unique symbol = Symbol('render on copies');

export const LIST_MUTATORS: ReadonlySet<string> = new Set(['append', 'extend', 'insert', 'pop', 'remove', 'clear', 'sort', 'reverse']);
export const DICT_MUTATORS: ReadonlySet<string> = new Set(['update', 'pop', 'popitem', 'setdefault', 'clear']);

function method(owner: string, name: string, impl: (c: CallArgs, rt: Runtime) => unknown): PyFunction {
  return new PyFunction(
    name,
    (c, rt) => {
      rt.beforeMutation();
      return impl(c, rt);
    },
    `<built-in method ${name} of ${owner} object>`,
  );
}

function index(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (isInt(v)) return toJsNumber(v);
  if (v instanceof Undefined) v.fail();
  throw new EvalError(`'${typeName(v)}' object cannot be interpreted as an integer`);
}

/** A bound mutating method of a list, or MISSING. */
export function listMutator(a: unknown[], name: string): unknown {
  switch (name) {
    case 'append':
      return method('list', name, (c) => {
        a.push(positional('list.append', c, 1, 1)[0]);
        return null;
      });
    case 'extend':
      return method('list', name, (c, rt) => {
        const items = iterate(positional('list.extend', c, 1, 1)[0]);
        rt.step(items.length);
        // `l.extend(l)` doubles l: read the items before growing the list
        for (const x of items === a ? [...items] : items) a.push(x);
        return null;
      });
    case 'insert':
      return method('list', name, (c) => {
        const [at, x] = positional('insert', c, 2, 2);
        let i = index(at);
        if (i < 0) i = Math.max(0, i + a.length);
        a.splice(Math.min(i, a.length), 0, x);
        return null;
      });
    case 'pop':
      return method('list', name, (c) => {
        const args = positional('pop', c, 0, 1);
        if (a.length === 0) throw new EvalError('pop from empty list');
        let i = args.length === 0 ? -1 : index(args[0]);
        if (i < 0) i += a.length;
        if (i < 0 || i >= a.length) throw new EvalError('pop index out of range');
        const v = a.splice(i, 1)[0];
        return v === undefined ? null : v;
      });
    case 'remove':
      return method('list', name, (c) => {
        const [x] = positional('list.remove', c, 1, 1);
        const i = a.findIndex((y) => eq(y, x));
        if (i < 0) throw new EvalError('list.remove(x): x not in list');
        a.splice(i, 1);
        return null;
      });
    case 'clear':
      return method('list', name, (c) => {
        positional('list.clear', c, 0, 0);
        a.length = 0;
        return null;
      });
    case 'reverse':
      return method('list', name, (c) => {
        positional('list.reverse', c, 0, 0);
        a.reverse();
        return null;
      });
    case 'sort':
      return method('list', name, (c, rt) => {
        if (c.args.length > 0) throw new EvalError('sort() takes no positional arguments');
        let key: unknown = null;
        let reverse: unknown = false;
        for (const [k, v] of c.kwargs) {
          if (k === 'key') key = v;
          else if (k === 'reverse') reverse = v;
          else throw new EvalError(`sort() got an unexpected keyword argument '${k}'`);
        }
        rt.step(a.length);
        sortList(a, key, index(reverse) !== 0, rt);
        return null;
      });
  }
  return MISSING;
}

/**
 * list.sort(): stable, by Python's `<` on the items or on `key(item)`; `reverse` keeps equal items in
 * their order, as CPython does. A failed comparison leaves the list as it was.
 */
function sortList(a: unknown[], key: unknown, reverse: boolean, rt: Runtime): void {
  const keyOf = (x: unknown): unknown => {
    if (key === null) return x;
    if (key instanceof PyFunction) return key.impl({ args: [x], kwargs: new Map() }, rt);
    if (key instanceof Undefined) key.fail();
    throw new EvalError(`'${typeName(key)}' object is not callable`);
  };
  const keyed = a.map((x) => [keyOf(x), x] as const);
  if (reverse) keyed.reverse();
  keyed.sort((p, q) => (lt(p[0], q[0]) ? -1 : lt(q[0], p[0]) ? 1 : 0));
  if (reverse) keyed.reverse();
  for (let i = 0; i < a.length; i++) a[i] = keyed[i]![1];
}

/** A bound mutating method of a dict, or MISSING. Only PyDicts are mutated: context objects are copied to PyDicts first. */
export function dictMutator(d: DictLike, name: string): unknown {
  if (!DICT_MUTATORS.has(name)) return MISSING;
  return method('dict', name, (c, rt) => {
    if (!(d instanceof PyDict)) throw new EvalError('internal template error: a shared dict was about to be modified');
    switch (name) {
      case 'update': {
        const [other] = positional('update', { args: c.args, kwargs: new Map() }, 0, 1);
        if (other !== undefined) {
          if (other instanceof Undefined) other.fail();
          const pairs = other instanceof PyDict || isPlainObject(other) ? dictEntries(other) : updatePairs(other);
          rt.step(pairs.length);
          for (const [k, v] of pairs) d.set(k, v);
        }
        for (const [k, v] of c.kwargs) d.set(k, v);
        return null;
      }
      case 'pop': {
        const [k, dflt] = positional('pop', c, 1, 2);
        const v = d.get(k);
        if (v !== MISSING) {
          d.delete(k);
          return v;
        }
        if (c.args.length > 1) return dflt;
        throw new EvalError(repr(k));
      }
      case 'popitem': {
        positional('popitem', c, 0, 0);
        const last = d.popLast();
        if (last === undefined) throw new EvalError("'popitem(): dictionary is empty'");
        return PyTuple.of2(last);
      }
      case 'setdefault': {
        const [k, dflt] = positional('setdefault', c, 1, 2);
        const v = d.get(k);
        if (v !== MISSING) return v;
        const value = c.args.length > 1 ? dflt : null;
        d.set(k, value);
        return value;
      }
      default: // clear
        positional('clear', c, 0, 0);
        d.clear();
        return null;
    }
  });
}

/** dict.update(iterable): each item must itself be a pair. */
function updatePairs(other: unknown): [unknown, unknown][] {
  return iterate(other).map((item, i) => {
    if (item instanceof Undefined) item.fail();
    const pair = iterate(item);
    if (pair.length !== 2) throw new EvalError(`dictionary update sequence element #${i} has length ${pair.length}; 2 is required`);
    hashKey(pair[0]);
    return [pair[0], pair[1]];
  });
}

/**
 * A render's own deep copy of a context value: lists, tuples and dicts (plain objects become
 * PyDicts, which never touch a prototype whatever their keys) are copied, immutable values are
 * shared. `copies` maps each original to its copy, so a value reached twice is copied once.
 */
export function privateCopy(v: unknown, copies: Map<object, unknown>, rt: Runtime): unknown {
  if (v === null || typeof v !== 'object') return v === undefined ? null : v;
  const known = copies.get(v);
  if (known !== undefined) return known;
  if (Array.isArray(v)) {
    const out: unknown[] = v instanceof PyTuple ? new (v.constructor as typeof PyTuple)() : [];
    copies.set(v, out);
    rt.step(1 + (v.length >> 4));
    for (const x of v) out.push(privateCopy(x, copies, rt));
    return out;
  }
  if (v instanceof PyDict || isPlainObject(v)) {
    const out = new PyDict();
    copies.set(v, out);
    const pairs = dictEntries(v);
    rt.step(1 + (pairs.length >> 4));
    for (const [k, x] of pairs) out.set(k, privateCopy(x, copies, rt));
    return out;
  }
  if (v instanceof TemplateObject) {
    const out = v.privateCopy((x) => privateCopy(x, copies, rt));
    copies.set(v, out);
    return out;
  }
  return v;
}
