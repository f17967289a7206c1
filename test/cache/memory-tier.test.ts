import { describe, expect, it } from 'vitest';
import { MemoryTier } from '../../src/upstream/cache/memory.js';

const entry = (prefix: string) => ({ prefix, status: 200, headers: { 'content-type': 'application/json', age: '0' }, body: Buffer.from('{"ok":true}'), age: 0 });

describe('the per-process memory tier', () => {
  it('lets expired entries go as new ones arrive (a process that served many connectors once does not keep their answers)', () => {
    const tier = new MemoryTier(1000, 32 * 1024 * 1024);
    for (let i = 0; i < 100; i++) tier.set(`key-${i}`, entry(`p${i}:`), 0, 60_000);
    expect(tier.size).toBe(100);
    // Still fresh: nothing is dropped.
    tier.set('key-fresh', entry('pf:'), 999, 60_000);
    expect(tier.size).toBe(101);
    // A second later every earlier entry has expired: the next one to arrive sweeps them out.
    tier.set('key-late', entry('pl:'), 1000, 60_000);
    expect(tier.size).toBe(2);
    expect(tier.get('key-0', 1000)).toBeUndefined();
    expect(tier.get('key-fresh', 1000)?.prefix).toBe('pf:');
    expect(tier.get('key-late', 1500)?.prefix).toBe('pl:');
  });

  it('keeps its size bound by dropping the oldest entries first', () => {
    const body = 1000;
    const tier = new MemoryTier(60_000, 3 * (body + 512));
    for (const k of ['a', 'b', 'c', 'd']) tier.set(k, { ...entry(`${k}:`), body: Buffer.alloc(body) }, 0, 60_000);
    expect(tier.size).toBe(3);
    expect(tier.get('a', 1)).toBeUndefined();
    expect(tier.get('d', 1)?.prefix).toBe('d:');
  });
});
