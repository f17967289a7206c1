import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { identical, replay, type GoldenCase } from './golden-support.js';

/**
 * Differential fuzz corpus: 1000 random templates (golden/fuzz.py, fixed seed) mixing operators,
 * filters, tests, loops, `set`, namespaces and macros over one context, rendered by real Jinja2.
 * Unlike the hand-written corpus these have no documented exceptions: every case must match.
 */
const path = fileURLToPath(new URL('./golden/fuzz-expected.json', import.meta.url));
const data = JSON.parse(readFileSync(path, 'utf8')) as { context: Record<string, unknown>; cases: Omit<GoldenCase, 'context'>[] };

describe(`differential fuzz corpus (${data.cases.length} templates)`, () => {
  it('renders every case exactly like Jinja2 (or fails where Jinja2 fails)', async () => {
    const mismatches: string[] = [];
    for (const c of data.cases) {
      const full: GoldenCase = { ...c, context: data.context } as GoldenCase;
      const o = await replay(full);
      if (!identical(full, o)) {
        mismatches.push(`${c.id}: ${JSON.stringify(c.template)}\n  jinja2: ${JSON.stringify(c.expected)}\n  ours: ${o.ok ? JSON.stringify(o.output) : (o.error as Error).message}`);
      }
    }
    expect(mismatches, mismatches.slice(0, 10).join('\n')).toEqual([]);
  });
});
