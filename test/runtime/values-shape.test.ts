import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageEvent } from '../../src/runtime/context.js';
import { runtimeFor } from '../../src/runtime/index.js';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, step, type Harness } from './harness.js';

// V8's own test of an object's property storage (fast properties, or a dictionary).
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

/**
 * The values a call's stages produce are kept on one object. It must keep V8's fast properties
 * through the whole run: one that turns into a dictionary makes every stage's reads of it slow.
 */
describe('stage values', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.createConnector('acme', { name: 'Echo', url: `${up.url}/echo` });
    await h.linkComposite('acme', [{ name: 'Two', permalink: 'two', steps: [step({ name: 'first', url: `${up.url}/a` }), step({ name: 'second', url: `${up.url}/b` })] }]);
  });

  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  async function shapes(run: () => Promise<{ status: number }>): Promise<{ stage: string; fast: boolean }[]> {
    const seen: { stage: string; fast: boolean }[] = [];
    const stop = runtimeFor(h.services).observeStages((e: StageEvent) => seen.push({ stage: e.stage, fast: hasFastProperties(e.call) }));
    try {
      expect((await run()).status).toBe(200);
    } finally {
      stop();
    }
    return seen;
  }

  it('keep fast properties from the first stage to the last, for a connector and a composite', async () => {
    for (const run of [() => h.exec('echo'), () => h.exec('two', { method: 'POST', composite: true, body: '{}', headers: { 'content-type': 'application/json' } })]) {
      const seen = await shapes(run);
      expect(seen.map((s) => s.stage)).toContain('response-headers');
      expect(seen.filter((s) => !s.fast)).toEqual([]);
    }
  });
});
