import { createHash } from 'node:crypto';
import { EvalError } from './errors.js';
import { escapeHtml } from './escape.js';
import { dumps } from './json-dump.js';
import { bind } from './args.js';
import { add } from './ops.js';
import type { State } from './state.js';
import { isInt } from './numbers.js';
import { iterate, str } from './protocols.js';
import {
  asString, dictGet, dictItems, isDict, Markup, MISSING, MissingRef, Namespace, PyDict, PyFunction, PyRange,
  TemplateObject, toJsNumber, typeName, Undefined, type CallArgs,
} from './values.js';

/**
 * Template globals. Jinja2's (range — capped like the sandbox's MAX_RANGE —, dict, namespace,
 * cycler, joiner, lipsum) and the reference's functions (get_secret, get_variable, jwt_encode, now).
 * The reference's four are resolved before context variables so data cannot shadow them.
 */

export const MAX_RANGE = 100_000;

function fn(name: string, impl: (c: CallArgs, s: State) => unknown): PyFunction {
  return new PyFunction(name, (c, rt) => impl(c, rt as State), `<function ${name}>`);
}

function rangeArg(v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!isInt(v)) {
    if (v instanceof Undefined) v.fail();
    throw new EvalError(`'${typeName(v)}' object cannot be interpreted as an integer`);
  }
  const n = toJsNumber(v);
  if (!Number.isSafeInteger(n)) throw new EvalError('Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).', 'limit');
  return n;
}

const range = fn('range', (c) => {
  if (c.kwargs.size > 0) throw new EvalError('range() takes no keyword arguments');
  const a = c.args.map(rangeArg);
  if (a.length < 1 || a.length > 3) throw new EvalError(`range expected at most 3 arguments, got ${a.length}`);
  const [start, stop, step] = a.length === 1 ? [0, a[0]!, 1] : [a[0]!, a[1]!, a[2] ?? 1];
  if (step === 0) throw new EvalError('range() arg 3 must not be zero');
  const r = new PyRange(start, stop, step);
  if (r.length > MAX_RANGE) throw new EvalError('Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).', 'limit');
  return r;
});

function dictFrom(c: CallArgs, what: string): PyDict {
  if (c.args.length > 1) throw new EvalError(`${what} expected at most 1 argument, got ${c.args.length}`);
  const d = new PyDict();
  if (c.args.length === 1) {
    const src = c.args[0];
    if (isDict(src)) for (const [k, v] of dictItems(src)) d.set(k, v);
    else {
      iterate(src).forEach((pair, i) => {
        const kv = iterate(pair);
        if (kv.length !== 2) throw new EvalError(`dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
        d.set(kv[0], kv[1]);
      });
    }
  }
  for (const [k, v] of c.kwargs) d.set(k, v);
  return d;
}

const dict = fn('dict', (c) => dictFrom(c, 'dict'));

const namespace = fn('namespace', (c) => {
  const ns = new Namespace();
  for (const [k, v] of dictFrom(c, 'Namespace').entries()) ns.attrs.set(str(k), v);
  return ns;
});

class Cycler extends TemplateObject {
  readonly typeName = 'Cycler';
  private pos = 0;
  constructor(readonly items: unknown[]) {
    super();
  }
  getAttr(name: string): unknown {
    switch (name) {
      case 'items': return this.items;
      case 'current': return this.items[this.pos];
      case 'next':
        return fn('next', () => {
          const v = this.items[this.pos];
          this.pos = (this.pos + 1) % this.items.length;
          return v;
        });
      case 'reset':
        return fn('reset', () => {
          this.pos = 0;
          return null;
        });
    }
    return MISSING;
  }
  repr(): string {
    return '<jinja2.utils.Cycler object>';
  }
}

const cycler = fn('cycler', (c) => {
  if (c.args.length === 0) throw new EvalError('at least one item has to be provided');
  return new Cycler(c.args);
});

const joiner = fn('joiner', (c) => {
  const [sep] = bind('joiner', c, [['sep', ', ']]);
  let used = false;
  return fn('joiner', () => {
    if (!used) {
      used = true;
      return '';
    }
    return sep;
  });
});

const LOREM = 'a ac accumsan ad adipiscing aenean aliquam aliquet amet ante aptent arcu at auctor augue bibendum blandit class commodo condimentum congue consectetuer consequat conubia convallis cras cubilia cum curabitur curae cursus dapibus diam dictum dictumst dignissim dis dolor donec dui duis egestas eget eleifend elementum elit enim erat eros est et etiam eu euismod facilisi facilisis fames faucibus felis fermentum feugiat fringilla fusce gravida habitant habitasse hac hendrerit hymenaeos iaculis id imperdiet in inceptos integer interdum ipsum justo lacinia lacus laoreet lectus leo libero ligula litora lobortis lorem luctus maecenas magna magnis malesuada massa mattis mauris metus mi molestie mollis montes morbi mus nam nascetur natoque nec neque netus nibh nisi nisl non nonummy nostra nulla nullam nunc odio orci ornare parturient pede pellentesque penatibus per pharetra phasellus placerat platea porta porttitor posuere potenti praesent pretium primis proin pulvinar purus quam quis quisque rhoncus ridiculus risus rutrum sagittis sapien scelerisque sed sem semper senectus sit sociis sociosqu sodales sollicitudin suscipit suspendisse taciti tellus tempor tempus tincidunt torquent tortor tristique turpis ullamcorper ultrices ultricies urna ut varius vehicula vel velit venenatis vestibulum vitae vivamus viverra volutpat vulputate'.split(' ');

const lipsum = fn('lipsum', (c, s) => {
  const [n, html, min, max] = bind('lipsum', c, [['n', 5], ['html', true], ['min', 20], ['max', 100]]);
  const count = toJsNumber(n);
  if (count > 1000) throw new EvalError('lipsum(): at most 1000 paragraphs', 'limit');
  const lo = toJsNumber(min);
  const hi = toJsNumber(max);
  if (hi <= lo) throw new EvalError(`empty range for randrange() (${lo}, ${hi}, ${hi - lo})`);
  const paras: string[] = [];
  for (let p = 0; p < count; p++) {
    const words = lo + Math.floor(Math.random() * (hi - lo));
    s.step(words);
    const w: string[] = [];
    for (let i = 0; i < words; i++) w.push(LOREM[Math.floor(Math.random() * LOREM.length)]!);
    const text = w.join(' ');
    paras.push(text.charAt(0).toUpperCase() + text.slice(1) + '.');
  }
  if (html !== false && html !== null && html !== 0) return new Markup(paras.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n\n'));
  return paras.join('\n\n');
});

// ---------------------------------------------------------------- the reference's functions

function literalName(fname: string, c: CallArgs): string {
  const name = c.args.length === 1 && c.kwargs.size === 0 ? asString(c.args[0]) : undefined;
  if (name === undefined) throw new EvalError(`${fname}() takes exactly one name, e.g. ${fname}('api_key')`);
  return name;
}

const getSecret = fn('get_secret', (c, s) => {
  const name = literalName('get_secret', c);
  const v = s.secrets?.get(name);
  return v === undefined ? new MissingRef('get_secret', name) : v;
});

const getVariable = fn('get_variable', (c, s) => {
  const name = literalName('get_variable', c);
  const v = s.variables?.get(name);
  return v === undefined ? new MissingRef('get_variable', name) : v;
});

const now = fn('now', (c, s) => {
  const [offset] = bind('now', c, [['offset', 0]]);
  return add(Math.floor(s.now), offset);
});

/** The algorithms PyJWT (what the reference uses) can sign with. */
export const JWT_ALGORITHMS = new Set([
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA',
]);

const jwtEncode = fn('jwt_encode', (c, s) => {
  const [payload, key, algorithm, headers] = bind('jwt_encode', c, [['payload'], ['key'], ['algorithm', 'HS256'], ['headers', null]]);
  if (!isDict(payload)) throw new EvalError('Expecting a dict object, as JWT only supports JSON objects as payloads.');
  const keyText = asString(key);
  if (keyText === undefined) {
    if (key instanceof Undefined) key.fail();
    throw new EvalError(`jwt_encode: the key must be a string, not ${typeName(key)}`);
  }
  let alg = str(algorithm);
  // A Map, then Object.fromEntries: header names from the template are data, never prototype keys.
  const header = new Map<string, unknown>([['typ', 'JWT'], ['alg', alg]]);
  if (headers !== null && headers !== undefined) {
    if (!isDict(headers)) throw new EvalError('jwt_encode: headers must be a dict');
    const kid = dictGet(headers, 'kid');
    if (kid !== MISSING && typeof kid !== 'string') throw new EvalError('Key ID header parameter must be a string');
    for (const [k, v] of dictItems(headers)) header.set(str(k), toPlain(v));
    const hAlg = dictGet(headers, 'alg');
    if (hAlg !== MISSING && hAlg !== null && hAlg !== '') alg = str(hAlg);
    header.set('alg', alg);
  }
  if (!header.get('typ')) header.delete('typ');
  if (!JWT_ALGORITHMS.has(alg)) throw new EvalError(`jwt_encode: algorithm '${alg}' is not supported`);
  const body = dumps(payload, { itemSep: ',', keySep: ':' });
  const sorted = Object.fromEntries([...header].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  const memoKey = createHash('sha256').update(JSON.stringify([body, keyText, alg, sorted])).digest('base64');
  const done = s.jwt?.signed.get(memoKey);
  if (done !== undefined) return done;
  if (s.jwt === null) throw new EvalError('jwt_encode() signs asynchronously: render this template with renderAsync()');
  s.jwt.pending.set(memoKey, { payload: body, key: keyText, algorithm: alg, header: sorted, line: s.callLine, column: s.callColumn });
  return 'jwt.pending.signature';
});

function toPlain(v: unknown): unknown {
  return JSON.parse(dumps(v));
}

export const RESERVED: ReadonlyMap<string, PyFunction> = new Map([
  ['get_secret', getSecret],
  ['get_variable', getVariable],
  ['jwt_encode', jwtEncode],
  ['now', now],
]);

export const GLOBALS: ReadonlyMap<string, PyFunction> = new Map([
  ['range', range],
  ['dict', dict],
  ['namespace', namespace],
  ['cycler', cycler],
  ['joiner', joiner],
  ['lipsum', lipsum],
]);

