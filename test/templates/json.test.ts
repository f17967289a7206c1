import { describe, expect, it } from 'vitest';
import { dumps, htmlsafeJsonDumps, jsonString } from '../../src/templates/json-dump.js';
import { parseJson, parseJsonExact } from '../../src/templates/json-parse.js';
import { floatRepr, PyFloat } from '../../src/templates/numbers.js';
import { dictGet, dictKeys, isDict, PyDict, type DictLike } from '../../src/templates/values.js';

/**
 * parseJson takes the native JSON.parse whenever a scan finds nothing it would get wrong; whatever
 * path it takes, templates must see exactly what the exact parser (json.loads) builds. And the
 * encoders' fast paths must print what the general ones print.
 */

/** Same value as templates see it: ints vs floats, exact big ints, key order, -0. */
function same(a: unknown, b: unknown, path = '$'): string | null {
  if (a instanceof PyFloat || b instanceof PyFloat) {
    return a instanceof PyFloat && b instanceof PyFloat && Object.is(a.v, b.v) ? null : `${path}: ${String(a)} vs ${String(b)}`;
  }
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'bigint' || typeof b === 'bigint') {
    return typeof a === typeof b && Object.is(a, b) ? null : `${path}: ${String(a)} (${typeof a}) vs ${String(b)} (${typeof b})`;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return `${path}: array shape`;
    for (let i = 0; i < a.length; i++) {
      const d = same(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isDict(a) || isDict(b)) {
    if (!isDict(a) || !isDict(b)) return `${path}: dict vs non-dict`;
    const ka = dictKeys(a as DictLike);
    const kb = dictKeys(b as DictLike);
    if (JSON.stringify(ka) !== JSON.stringify(kb)) return `${path}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
    for (const k of ka) {
      const d = same(dictGet(a as DictLike, k), dictGet(b as DictLike, k), `${path}.${String(k)}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

function outcome(fn: () => unknown): { value?: unknown; error?: string } {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function agree(text: string): string | null {
  const fast = outcome(() => parseJson(text));
  const exact = outcome(() => parseJsonExact(text));
  if (fast.error !== undefined || exact.error !== undefined) {
    return fast.error === exact.error ? null : `errors differ: ${fast.error} vs ${exact.error}`;
  }
  return same(fast.value, exact.value);
}

// mulberry32: a fixed seed keeps failures reproducible
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = [
  '0', '-0', '7', '-12', '1000', '0.5', '-0.0', '10.0', '1.00', '2.50', '1e3', '1E3', '1e-3', '1.5e2', '2.5e-1', '-1e0',
  '1e400', '-1e400', '1e-400', '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993',
  '1234567890123456789', '12345678901234567890123', '100.000000000000001', '99.99999999999999999', '4503599627370496.5',
  '4503599627370497.5', '1234567.890123456', '71.24000000000001', '0.30000000000000004', '12345678', '0.000000012345678',
  '999999999999999.99', '1.0000000000000002', '5e-324', '123456789012345.6',
];
const TRICKY_STRINGS = [
  'plain', '', 'id: 10.0', 'a, 1e5', '[7.0]', '"12": 1', '12', '1.0', '550e8400-e29b-41d4-a716-446655440000', 'x\\"12\\": 3.0',
  'é ✓ 😀', 'tab\\tnew\\nline', '\\u0031\\u0032', 'back\\\\', 'ends with digit 9', '{"3": 1}',
];
const KEYS = ['a', 'id', '0', '1', '12', '007', '4294967294', '4294967295', '-1', '1.5', 'k9', '9k', '__proto__', 'constructor', 'a'];

function gen(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const ws = () => pick(['', '', '', ' ', '\n  ', '\t']);
  const roll = r();
  if (depth > 3 || roll < 0.35) return pick(NUMBERS);
  if (roll < 0.5) return `"${pick(TRICKY_STRINGS)}"`;
  if (roll < 0.55) return pick(['true', 'false', 'null']);
  if (roll < 0.75) {
    const n = Math.floor(r() * 5);
    return `[${ws()}${Array.from({ length: n }, () => gen(r, depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
  }
  const n = Math.floor(r() * 5);
  const members = Array.from({ length: n }, () => `"${pick(KEYS)}"${ws()}:${ws()}${gen(r, depth + 1)}`);
  return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
}

describe('parseJson (native fast path) agrees with the exact parser', () => {
  it('on every number form on its own, in a list and as a value', () => {
    for (const n of NUMBERS) {
      for (const text of [n, ` ${n} `, `[${n}]`, `[1, ${n}]`, `{"a": ${n}}`, `{"a":${n},"b":"x"}`, `{"s": "${n}", "n": ${n}}`]) {
        expect(agree(text), text).toBeNull();
      }
    }
  });

  it('on keys that plain objects would reorder, also next to strings that look like them', () => {
    for (const text of [
      '{"b": 1, "2": 2, "1": 3}', '{"b":1,"10":2}', '{ "b" : 1 ,\n "10"\t: 2 }', '{"007": 1, "a": 2}', '{"a": "12", "b": 1}',
      '{"a": "x\\"12\\": 3", "b": 1}', '[{"a": 1}, {"9": 1, "a": 2}]', '{"4294967295": 1, "a": 2}', '{"a": ["1", "2"]}',
    ]) {
      expect(agree(text), text).toBeNull();
    }
  });

  it('on invalid JSON, NaN and Infinity (same result or the same error)', () => {
    for (const text of ['', '{', '[1,]', '{"a" 1}', '"abc', '[01]', '[1.]', '[-]', 'NaN', '[Infinity, -Infinity]', '[1e5', '{"1": 1.0', '"\\x"', '[1] x']) {
      expect(agree(text), text).toBeNull();
    }
  });

  it('on 20 000 random documents', () => {
    const r = rng(20240611);
    const failures: string[] = [];
    for (let i = 0; i < 20000 && failures.length < 5; i++) {
      const text = gen(r, 0);
      const d = agree(text);
      if (d) failures.push(`${text}\n  ${d}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('still keeps 19-digit ids exact and 10.0 a float inside a large document', () => {
    const items = Array.from({ length: 300 }, (_, i) => `{"id": ${1000 + i}, "name": "n${i}", "price": ${(i * 1.1).toFixed(2)}}`);
    const base = `{"items": [${items.join(', ')}]}`;
    expect(agree(base)).toBeNull();
    for (const extra of ['"big": 1234567890123456789', '"f": 10.0', '"e": 1e3', '"k": {"5": 1, "a": 2}']) {
      const text = base.slice(0, -1) + ', ' + extra + '}';
      expect(agree(text), extra).toBeNull();
      const fast = parseJson(text) as DictLike;
      expect(fast).toBeInstanceOf(PyDict); // the exact parser built it
    }
  });
});

describe('JSON encoders', () => {
  it('jsonString escapes like json.dumps, with and without htmlsafe and ensure_ascii', () => {
    const all = Array.from({ length: 0x100 }, (_, c) => String.fromCharCode(c)).join('') + 'é✓😀\u2028';
    const reference = (s: string, ensureAscii: boolean, htmlSafe: boolean) => {
      let out = '"';
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        const named: Record<number, string> = { 34: '\\"', 92: '\\\\', 10: '\\n', 13: '\\r', 9: '\\t', 8: '\\b', 12: '\\f' };
        const hex = '\\u' + c.toString(16).padStart(4, '0');
        if (named[c] !== undefined) out += named[c];
        else if (c < 0x20) out += hex;
        else if (c > 0x7e && ensureAscii) out += hex;
        else if (htmlSafe && '<>&\''.includes(s[i]!)) out += hex;
        else out += s[i];
      }
      return out + '"';
    };
    for (const [ea, hs] of [[true, false], [false, false], [true, true]] as const) {
      expect(jsonString(all, ea, hs)).toBe(reference(all, ea, hs));
      expect(jsonString('plain text 123', ea, hs)).toBe('"plain text 123"');
      expect(jsonString('Item <1> "q" & it\'s', ea, hs)).toBe(reference('Item <1> "q" & it\'s', ea, hs));
    }
  });

  it("tojson's scalar shortcuts print what the general encoder prints", () => {
    for (const v of [0, -5, 12, 2 ** 53 - 1, 2 ** 53, 0.5, -71.24000000000001, 1e-7, 1e300, 3.14159, null, true, false, 'a<b>&\'"', new PyFloat(2), 12345678901234567890n]) {
      expect(htmlsafeJsonDumps(v, null).s, String(v)).toBe(dumps(v, { sortKeys: true, htmlSafe: true }));
    }
  });

  it('floatRepr prints the shortest round-trip digits, as String() does', () => {
    const r = rng(7);
    for (let i = 0; i < 50000; i++) {
      const x = (r() < 0.5 ? -1 : 1) * Math.round(r() * 10 ** Math.floor(r() * 16)) / 10 ** Math.floor(r() * 16);
      const y = (r() < 0.5 ? -1 : 1) * r() * 10 ** (Math.floor(r() * 20) - 4);
      for (const v of [x, y]) {
        if (!(Math.abs(v) >= 1e-4 && Math.abs(v) < 1e16)) continue;
        const s = String(v);
        expect(floatRepr(v)).toBe(s.includes('.') ? s : s + '.0');
      }
    }
  });
});
