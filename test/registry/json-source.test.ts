import { describe, expect, it } from 'vitest';
import { parseJsonWithPositions, pointer } from '../../src/registry/json-source.js';
import { at } from './helpers.js';

describe('parseJsonWithPositions', () => {
  const text = '{\n  "a": [1, {"b": "x\\"y\\u00e9z"}],\n  "c~/d": true\n}';

  it('parses like JSON.parse and locates values, keys and characters inside strings', () => {
    const r = parseJsonWithPositions(text);
    if (!r.ok) throw new Error('parse failed');
    expect(r.value).toEqual(JSON.parse(text));
    expect(r.locator.value('/a/1/b')).toEqual(at(text, '"x'));
    expect(r.locator.key('/a/1/b')).toEqual(at(text, '"b"'));
    expect(r.locator.value(pointer('c~/d'))).toEqual(at(text, 'true'));
    // index 3 of x"yéz is "é", written as \u00e9 in the source
    expect(r.locator.inString('/a/1/b', 3)).toEqual(at(text, '\\u00e9'));
    expect(r.locator.inString('/a/1/b', 4)).toEqual(at(text, 'z"'));
    // a missing member falls back to the nearest existing ancestor
    expect(r.locator.value('/a/1/nope')).toEqual(at(text, '{"b"'));
    expect(r.locator.value('')).toEqual({ line: 1, column: 1 });
  });

  it.each([
    ['{"a": 1,}', 'PropertyNameExpected', { line: 1, column: 9 }, /trailing commas/],
    ['{\n  "a": 1\n  "b": 2\n}', 'CommaExpected', { line: 3, column: 3 }, /expected ","/],
    ["{'a': 1}", 'InvalidSymbol', { line: 1, column: 2 }, /double-quoted/],
    ['{"a": 1} // note', 'comment', { line: 1, column: 10 }, /comments are not allowed/],
    ['{"a": "x\ty"}', 'control char', { line: 1, column: 7 }, /control character/],
    ['', 'empty', { line: 1, column: 1 }, /^the document is empty: write a JSON object, e\.g\. \{"connectors": \[\]\}/],
    ['\ufeff \r\n\t\n', 'whitespace and a BOM only', { line: 1, column: 1 }, /^the document is empty/],
    ['{"a": [1, 2}', 'bracket', { line: 1, column: 12 }, /expected "]"|expected ","/],
  ])('reports invalid JSON %j (%s) with line and column', (input, _label, position, message) => {
    const r = parseJsonWithPositions(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect({ line: r.error.line, column: r.error.column }).toEqual(position);
    expect(r.error.message).toMatch(message);
  });

  it('tolerates a byte-order mark without shifting columns', () => {
    const r = parseJsonWithPositions('\ufeff{"a": 1}');
    if (!r.ok) throw new Error('parse failed');
    expect(r.locator.value('/a')).toEqual({ line: 1, column: 7 });
  });

  it('counts CRLF line endings as one line break', () => {
    const r = parseJsonWithPositions('{\r\n"a":\r\n 5}');
    if (!r.ok) throw new Error('parse failed');
    expect(r.locator.value('/a')).toEqual({ line: 3, column: 2 });
  });

  it('records repeated keys and keeps the last value, like JSON.parse', () => {
    const dup = '{\n  "a": 1,\n  "a": 2\n}';
    const r = parseJsonWithPositions(dup);
    if (!r.ok) throw new Error('parse failed');
    expect(r.value).toEqual({ a: 2 });
    expect(r.duplicateKeys).toEqual([{ path: '/a', key: 'a', position: at(dup, '"a"', 1), first: at(dup, '"a"', 0) }]);
    expect(r.locator.value('/a')).toEqual(at(dup, '2'));
  });

  it('keeps "__proto__" as plain data', () => {
    const r = parseJsonWithPositions('{"__proto__": {"polluted": true}}');
    if (!r.ok) throw new Error('parse failed');
    expect(Object.getPrototypeOf(r.value)).toBe(Object.prototype);
    expect(Object.keys(r.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses absurd nesting with a position instead of exhausting the stack', () => {
    const text = `{"connectors": [${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    const r = parseJsonWithPositions(text);
    expect(r).toEqual({ ok: false, error: { line: 1, column: 16 + 63, message: expect.stringMatching(/nesting deeper than 64 levels/) } });
    const ok = parseJsonWithPositions(`${'['.repeat(64)}${']'.repeat(64)}`);
    expect(ok.ok).toBe(true);
  });
});
