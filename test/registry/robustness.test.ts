import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateRegistryText, validateRegistryValue } from '../../src/registry/validate.js';
import { STRICT } from './helpers.js';

/**
 * The validator sees whatever a repository holds: any value may have any type. Rules must report,
 * never throw, whatever shape they meet.
 */

const reference = JSON.parse(readFileSync(new URL('./fixtures/reference-registry.json', import.meta.url), 'utf8')) as unknown;

const ODD_VALUES: unknown[] = [null, 0, -1, 1.5, true, false, '', 'x', '{{', '{%', '{#', '}}', [], [null], {}, { type: 'jwt' }, { key: 1 }, '__proto__', 'https://', '{{ get_variable(', 'a'.repeat(3000)];

/** Deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) }) as Record<string | number, unknown>;
  copy[head!] = replaceAt(copy[head!], rest, replacement);
  return copy;
}

describe('robustness', () => {
  it('reports (never throws) when any value of a valid file is replaced by an odd one', () => {
    const all = paths(reference);
    const random = rng(42);
    let invalid = 0;
    for (let i = 0; i < 600; i++) {
      let doc = reference;
      for (let m = 0; m < 3; m++) {
        const path = all[Math.floor(random() * all.length)]!;
        doc = replaceAt(doc, path, ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]);
      }
      const result = validateRegistryValue(doc, STRICT);
      if (!result.ok) {
        invalid += 1;
        for (const e of result.errors) {
          expect(typeof e.path).toBe('string');
          expect(e.message.length).toBeGreaterThan(10);
        }
      }
      // the same document as text gets positions for every error
      const text = validateRegistryText(JSON.stringify(doc, null, 1), STRICT);
      if (!text.ok) for (const e of text.errors) expect(e.line).toBeGreaterThan(0);
    }
    expect(invalid).toBeGreaterThan(400);
  });

  it('treats keys named like Object.prototype members as plain data', () => {
    const text = JSON.stringify({
      connectors: [
        { name: 'A', url: 'https://api.example.com/a', authentication: { type: 'constructor', config: {} } },
        { name: 'B', url: 'https://api.example.com/b', authentication: { type: '__proto__', config: { value: 'x' } } },
        {
          name: 'C',
          url: 'https://api.example.com/c',
          authentication: { type: 'oauth_jwt_bearer', config: { client_id: 'c', private_key: "{{ get_secret('k') }}", token_url: 'https://login.example.com/t', subject: 's', audience: 'a', additional_claims: { constructor: 'x', toString: 'y', ['__proto__']: 'z' } } },
          headers: [{ key: 'constructor', value: '1' }, { key: 'hasOwnProperty', value: '2' }],
        },
      ],
    }, null, 2);
    const r = validateRegistryText(text, STRICT);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toEqual(['/connectors/0/authentication/type', '/connectors/1/authentication/type']);
  });
});
