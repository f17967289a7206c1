import { bind } from './args.js';
import { EvalError } from './errors.js';
import { escape } from './escape.js';
import { strFormat, type FieldAccess } from './format.js';
import { LIMITS, repeatStr } from './limits.js';
import { cpIndex, cpSlice, isPyWhitespace, pyCapitalize, pyCenter, pyReplace, pySplit, pyTitle, stripChars, strArg } from './pystr.js';
import { str } from './protocols.js';
import {
  asString, dictGet, dictKeys, DictView, isDict, Markup, MISSING, PyBytes, PyFunction, PyGenerator, PyRange, PyTuple,
  strChars, strLen, toJsNumber, typeName, Undefined, type CallArgs, type Runtime,
} from './values.js';

/**
 * The bound methods of str (`'a,b'.split(',')`, `name.startswith('x')`, `'{0}'.format(v)`), with
 * CPython's arguments, results and errors. A Markup receiver escapes its str arguments and returns
 * Markup, as markupsafe does. `access` is the sandbox's attribute lookup, for format fields.
 */

function method(name: string, impl: (c: CallArgs, rt: Runtime) => unknown): PyFunction {
  return new PyFunction(name, impl, `<built-in method ${name} of str object>`);
}

function strIndexRange(c: CallArgs, fname: string, s: string): [string, number, number] {
  const [sub, start, end] = bind(fname, c, [['sub'], ['start', null], ['end', null]]);
  const n = strLen(s);
  const idx = (v: unknown, d: number) => {
    if (v === null || v === undefined) return d;
    let k = toJsNumber(v);
    if (k < 0) k = Math.max(0, k + n);
    return Math.min(k, n);
  };
  return [strArg(fname, sub, false), idx(start, 0), idx(end, n)];
}

export function strMethod(obj: string | Markup, name: string, access: FieldAccess): unknown {
  const markup = obj instanceof Markup;
  const s = asString(obj)!;
  const wrap = (r: string) => (markup ? new Markup(r) : r);
  const m = (impl: (c: CallArgs, rt: Runtime) => unknown) => method(name, impl);
  const noArgs = (impl: () => unknown) =>
    m((c) => {
      if (c.args.length > 0 || c.kwargs.size > 0) throw new EvalError(`${name}() takes no arguments (${c.args.length} given)`);
      return impl();
    });
  const pred = (re: RegExp, nonEmpty = true) => noArgs(() => (nonEmpty ? s.length > 0 : true) && re.test(s));
  switch (name) {
    case 'upper': return noArgs(() => wrap(s.toUpperCase()));
    case 'lower': return noArgs(() => wrap(s.toLowerCase()));
    case 'casefold': return noArgs(() => wrap(s.toLowerCase()));
    case 'swapcase': return noArgs(() => wrap([...s].map((ch) => (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase())).join('')));
    case 'title': return noArgs(() => wrap(pyTitle(s)));
    case 'capitalize': return noArgs(() => wrap(pyCapitalize(s)));
    case 'isalnum': return pred(/^[\p{L}\p{N}]+$/u);
    case 'isalpha': return pred(/^\p{L}+$/u);
    case 'isascii': return pred(/^[\x00-\x7f]*$/, false);
    case 'isdecimal': return pred(/^\p{Nd}+$/u);
    case 'isdigit': return pred(/^[\p{Nd}\u00b2\u00b3\u00b9\u2070-\u2079\u2080-\u2089]+$/u);
    case 'isnumeric': return pred(/^\p{N}+$/u);
    case 'isspace': return noArgs(() => s.length > 0 && [...s].every(isPyWhitespace));
    case 'isidentifier': return pred(/^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u);
    case 'isprintable': return pred(/^[^\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]*$/u, false);
    case 'islower': return noArgs(() => /\p{Ll}/u.test(s) && !/\p{Lu}|\p{Lt}/u.test(s));
    case 'isupper': return noArgs(() => /\p{Lu}/u.test(s) && !/\p{Ll}|\p{Lt}/u.test(s));
    case 'istitle': return noArgs(() => s === pyTitle(s) && /\p{L}/u.test(s));
    case 'strip':
    case 'lstrip':
    case 'rstrip':
      return m((c) => {
        const [chars] = bind(name, c, [['chars', null]]);
        return wrap(stripChars(s, chars, name !== 'rstrip', name !== 'lstrip', name));
      });
    case 'split':
    case 'rsplit':
      return m((c) => {
        const [sep, maxsplit] = bind(name, c, [['sep', null], ['maxsplit', -1]]);
        return pySplit(s, sep, toJsNumber(maxsplit), name === 'rsplit').map(wrap);
      });
    case 'splitlines':
      return m((c) => {
        const [keepends] = bind(name, c, [['keepends', false]]);
        const out: string[] = [];
        const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
        let last = 0;
        for (let mm = re.exec(s); mm; mm = re.exec(s)) {
          out.push(s.slice(last, keepends ? re.lastIndex : mm.index));
          last = re.lastIndex;
        }
        if (last < s.length) out.push(s.slice(last));
        return out.map(wrap);
      });
    case 'startswith':
    case 'endswith':
      return m((c) => {
        const [prefix, start, end] = bind(name, c, [['prefix'], ['start', null], ['end', null]]);
        const n = strLen(s);
        const a = start === null ? 0 : Math.max(0, Math.min(n, toJsNumber(start) < 0 ? toJsNumber(start) + n : toJsNumber(start)));
        const b = end === null ? n : Math.max(0, Math.min(n, toJsNumber(end) < 0 ? toJsNumber(end) + n : toJsNumber(end)));
        const sub = cpSlice(s, a, b);
        const cands = prefix instanceof PyTuple ? [...prefix] : [prefix];
        if (!(prefix instanceof PyTuple) && asString(prefix) === undefined) {
          throw new EvalError(`${name} first arg must be str or a tuple of str, not ${typeName(prefix)}`);
        }
        return cands.some((p) => (name === 'startswith' ? sub.startsWith(strArg(name, p, false)) : sub.endsWith(strArg(name, p, false))));
      });
    case 'replace':
      return m((c) => {
        const [old, neu, count] = bind(name, c, [['old'], ['new'], ['count', -1]]);
        const o = strArg(name, old, markup);
        const n = strArg(name, neu, markup);
        return wrap(pyReplace(s, o, n, toJsNumber(count)));
      });
    case 'find':
    case 'rfind':
    case 'index':
    case 'rindex':
    case 'count':
      return m((c) => {
        const [sub, a, b] = strIndexRange(c, name, s);
        const hay = cpSlice(s, a, b);
        if (name === 'count') {
          if (sub === '') return strLen(hay) + 1;
          return hay.split(sub).length - 1;
        }
        const at = name.startsWith('r') ? hay.lastIndexOf(sub) : hay.indexOf(sub);
        if (at < 0) {
          if (name.endsWith('index')) throw new EvalError('substring not found');
          return -1;
        }
        return a + cpIndex(hay, at);
      });
    case 'join':
      return m((c, rt) => {
        const [items] = bind(name, c, [['iterable']]);
        const parts = iterItems(items);
        rt.step(parts.length);
        return wrap(
          parts
            .map((p, i) => {
              if (markup && (typeof p === 'string' || p instanceof Markup)) return escape(p).s;
              const ps = asString(p);
              if (ps === undefined) throw new EvalError(`sequence item ${i}: expected str instance, ${typeName(p)} found`);
              return ps;
            })
            .join(s),
        );
      });
    case 'center':
    case 'ljust':
    case 'rjust':
      return m((c) => {
        const [width, fill] = bind(name, c, [['width'], ['fillchar', ' ']]);
        const w = toJsNumber(width);
        LIMITS.checkString(w);
        const f = strArg(name, fill, false);
        if (strLen(f) !== 1) throw new EvalError('The fill character must be exactly one character long');
        const n = strLen(s);
        if (w <= n) return obj;
        if (name === 'center') return wrap(pyCenter(s, w, f));
        return wrap(name === 'ljust' ? s + repeatStr(f, w - n) : repeatStr(f, w - n) + s);
      });
    case 'zfill':
      return m((c) => {
        const [width] = bind(name, c, [['width']]);
        const w = toJsNumber(width);
        LIMITS.checkString(w);
        const n = strLen(s);
        if (w <= n) return obj;
        const sign = s[0] === '+' || s[0] === '-' ? s[0] : '';
        return wrap(sign + repeatStr('0', w - n) + s.slice(sign.length));
      });
    case 'partition':
    case 'rpartition':
      return m((c) => {
        const [sep] = bind(name, c, [['sep']]);
        const d = strArg(name, sep, markup);
        if (d === '') throw new EvalError('empty separator');
        const at = name === 'partition' ? s.indexOf(d) : s.lastIndexOf(d);
        if (at < 0) return PyTuple.of2(name === 'partition' ? [obj, wrap(''), wrap('')] : [wrap(''), wrap(''), obj]);
        return PyTuple.of2([wrap(s.slice(0, at)), wrap(d), wrap(s.slice(at + d.length))]);
      });
    case 'removeprefix':
    case 'removesuffix':
      return m((c) => {
        const [a] = bind(name, c, [['affix']]);
        const p = strArg(name, a, markup);
        if (name === 'removeprefix') return wrap(p && s.startsWith(p) ? s.slice(p.length) : s);
        return wrap(p && s.endsWith(p) ? s.slice(0, s.length - p.length) : s);
      });
    case 'expandtabs':
      return m((c) => {
        const [tabsize] = bind(name, c, [['tabsize', 8]]);
        const t = toJsNumber(tabsize);
        let col = 0;
        let out = '';
        for (const ch of s) {
          if (ch === '\t') {
            const k = t > 0 ? t - (col % t) : 0;
            out += repeatStr(' ', k);
            col += k;
          } else {
            out += ch;
            col = ch === '\n' || ch === '\r' ? 0 : col + 1;
          }
        }
        return wrap(out);
      });
    case 'encode':
      return m((c) => {
        const [encoding] = bind(name, c, [['encoding', 'utf-8'], ['errors', 'strict']]);
        const enc = str(encoding).toLowerCase();
        if (enc === 'utf-8' || enc === 'utf8') return new PyBytes(new TextEncoder().encode(s));
        if (enc === 'ascii') {
          if (/[^\x00-\x7f]/.test(s)) throw new EvalError("'ascii' codec can't encode characters");
          return new PyBytes(Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
        }
        throw new EvalError(`unknown encoding: ${enc}`);
      });
    case 'format':
      return m((c) => {
        const r = strFormat(s, c.args, c.kwargs, access, markup);
        return wrap(r);
      });
    case 'format_map':
      return m((c) => {
        const [mapping] = bind(name, c, [['mapping']]);
        if (!isDict(mapping)) throw new EvalError(`'${typeName(mapping)}' object is not subscriptable`);
        const kw = new Map<string, unknown>(dictKeys(mapping).map((k) => [str(k), dictGet(mapping, k)]));
        return wrap(strFormat(s, [], kw, access, markup));
      });
  }
  return MISSING;
}

function iterItems(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return strChars(v);
  if (v instanceof Markup) return strChars(v.s);
  if (isDict(v)) return dictKeys(v);
  if (v instanceof PyGenerator) return v.take();
  if (v instanceof DictView) return v.items();
  if (v instanceof PyRange) return v.toArray();
  if (v instanceof Undefined) return [];
  throw new EvalError(`can only join an iterable`);
}
