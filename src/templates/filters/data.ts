import { repeatStr } from '../limits.js';
import { EvalError } from '../errors.js';
import { dumps, htmlsafeJsonDumps } from '../json-dump.js';
import { parseJson } from '../json-parse.js';
import { isInt } from '../numbers.js';
import { compareStrings, repr, str } from '../protocols.js';
import {
  asString, dictItems, isDict, Markup, PyBytes, PyDict, PyTuple, toJsNumber, typeName, Undefined,
} from '../values.js';
import { params, type FilterFn } from './support.js';

// Parameter lists of the filters below (allocated once, not per call).
const P_TOJSON: [string, unknown?][] = [['indent', null]];

/**
 * JSON, base64 and pprint. `tojson` is Jinja2's (sorted keys, HTML-safe, Markup); the reference's
 * own filters follow Python: from_json = json.loads, json_encode = Markup(json.dumps(value)),
 * base64_encode = b64encode(str.encode('utf-8')).decode(), base64_decode = b64decode(s).decode('utf-8').
 */

function indentArg(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (isInt(v)) return repeatStr(' ', Math.max(0, toJsNumber(v)));
  throw new EvalError(`indent must be an int or a str, not ${typeName(v)}`);
}

const B64 = /[^A-Za-z0-9+/=]/g;

export function base64Decode(v: unknown): string {
  const s = v instanceof PyBytes ? String.fromCharCode(...v.bytes) : asString(v);
  if (s === undefined) {
    if (v instanceof Undefined) v.fail();
    throw new EvalError(`argument should be a bytes-like object or ASCII string, not '${typeName(v)}'`);
  }
  if (/[^\x00-\x7f]/.test(s)) throw new EvalError('string argument should contain only ASCII characters');
  // binascii.a2b_base64 (non-strict): characters outside the alphabet are discarded; data stops at padding.
  let clean = s.replace(B64, '');
  const pad = clean.indexOf('=');
  let body = pad >= 0 ? clean.slice(0, pad) : clean;
  const padding = pad >= 0 ? clean.slice(pad).replace(/[^=]/g, '') : '';
  if (body.length % 4 === 1) {
    throw new EvalError(`Invalid base64-encoded string: number of data characters (${body.length}) cannot be 1 more than a multiple of 4`);
  }
  if (body.length % 4 !== 0 && padding.length < 4 - (body.length % 4)) throw new EvalError('Incorrect padding');
  clean = body;
  const bytes = Buffer.from(clean, 'base64');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new EvalError("'utf-8' codec can't decode the base64 data");
  }
}

export const dataFilters: Record<string, FilterFn> = {
  tojson: (_s, v, args, kwargs) => {
    if (args.length === 0 && kwargs.size === 0) return htmlsafeJsonDumps(v, null);
    const [indent] = params('tojson', args, kwargs, P_TOJSON);
    return htmlsafeJsonDumps(v, indentArg(indent));
  },
  from_json: (state, v) => {
    const s = v instanceof PyBytes ? new TextDecoder().decode(v.bytes) : asString(v);
    if (s === undefined) {
      if (v instanceof Undefined) v.fail();
      throw new EvalError(`the JSON object must be str, bytes or bytearray, not ${typeName(v)}`);
    }
    return state.onCopies ? state.own(parseJson(s)) : parseJson(s);
  },
  json_encode: (_s, v) => new Markup(dumps(v)),
  base64_encode: (_s, v) => {
    const bytes = v instanceof PyBytes ? v.bytes : new TextEncoder().encode(str(v));
    return Buffer.from(bytes).toString('base64');
  },
  base64_decode: (_s, v) => base64Decode(v),
  pprint: (_s, v) => pformat(v),
};

/** pprint.pformat(width=80): repr with sorted dict keys, wrapped one item per line when too wide. */
export function pformat(v: unknown): string {
  const sortedRepr = (x: unknown, depth = 0): string => {
    if (depth > 100) throw new EvalError('value is nested too deeply to print', 'limit');
    if (isDict(x)) {
      const items = sortedItems(x);
      return `{${items.map(([k, y]) => `${sortedRepr(k, depth + 1)}: ${sortedRepr(y, depth + 1)}`).join(', ')}}`;
    }
    if (x instanceof PyTuple) {
      if (x.length === 1) return `(${sortedRepr(x[0], depth + 1)},)`;
      return `(${x.map((y) => sortedRepr(y, depth + 1)).join(', ')})`;
    }
    if (Array.isArray(x)) return `[${x.map((y) => sortedRepr(y, depth + 1)).join(', ')}]`;
    return repr(x);
  };
  const fmt = (x: unknown, indent: number, allowance: number): string => {
    const rep = sortedRepr(x);
    if (rep.length <= 80 - indent - allowance) return rep;
    if (isDict(x)) {
      const items = sortedItems(x);
      if (items.length === 0) return rep;
      const parts = items.map(([k, y], i) => {
        const kr = sortedRepr(k);
        const last = i === items.length - 1;
        return kr + ': ' + fmt(y, indent + 1 + kr.length + 2, last ? allowance + 1 : 1);
      });
      return '{' + parts.join(',\n' + repeatStr(' ', indent + 1)) + '}';
    }
    if (Array.isArray(x)) {
      if (x.length === 0) return rep;
      const [open, close] = x instanceof PyTuple ? ['(', x.length === 1 ? ',)' : ')'] : ['[', ']'];
      const parts = x.map((y, i) => fmt(y, indent + 1, i === x.length - 1 ? allowance + 1 : 1));
      return open + parts.join(',\n' + repeatStr(' ', indent + 1)) + close;
    }
    return rep;
  };
  return fmt(v, 0, 0);
}

function sortedItems(d: Record<string, unknown> | PyDict): [unknown, unknown][] {
  const items = dictItems(d).map((t) => [t[0], t[1]] as [unknown, unknown]);
  return items.sort((a, b) => {
    const x = asString(a[0]);
    const y = asString(b[0]);
    if (x !== undefined && y !== undefined) return compareStrings(x, y);
    return 0;
  });
}
