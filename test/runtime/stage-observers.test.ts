import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageEvent } from '../../src/runtime/context.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { STAGE_ORDER } from '../../src/runtime/pipeline.js';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, step, type Harness } from './harness.js';

/** `runtime.observeStages`: how metrics and tracing see every stage the pipeline runs. */
describe('stage observers', () => {
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

  function observe(): { events: StageEvent[]; stop: () => void } {
    const events: StageEvent[] = [];
    const stop = runtimeFor(h.services).observeStages((e) => events.push(e));
    return { events, stop };
  }

  it('sees every stage of a call in the declared order, with tenant, connector and duration', async () => {
    const { events, stop } = observe();
    try {
      const r = await h.exec('echo');
      expect(r.status).toBe(200);
    } finally {
      stop();
    }
    expect(events.map((e) => e.stage)).toEqual(STAGE_ORDER);
    for (const e of events) {
      expect(e).toMatchObject({ tenant: 'acme', permalink: 'echo', step: undefined, failed: false });
      expect(e.ms).toBeGreaterThanOrEqual(0);
    }
  });

  it('a failing stage is reported as failed and is the last one seen', async () => {
    const { events, stop } = observe();
    try {
      const r = await h.exec('echo', { method: 'POST', body: '{}' });
      expect(r.status).toBe(405);
    } finally {
      stop();
    }
    const names = events.map((e) => e.stage);
    expect(names).toEqual(STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('method') + 1));
    expect(events.at(-1)).toMatchObject({ stage: 'method', failed: true });
    expect(events.slice(0, -1).every((e) => !e.failed)).toBe(true);
  });

  it('composite steps run the request stages once per step, each event naming its step', async () => {
    const { events, stop } = observe();
    try {
      const r = await h.exec('two', { method: 'POST', composite: true, body: '{}', headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(200);
    } finally {
      stop();
    }
    const callStages = events.filter((e) => e.step === undefined).map((e) => e.stage);
    const requestStages = STAGE_ORDER.slice(callStages.length);
    expect(callStages).toEqual(STAGE_ORDER.slice(0, callStages.length));
    expect(events.filter((e) => e.step?.name === 'first').map((e) => e.stage)).toEqual(requestStages);
    expect(events.filter((e) => e.step?.name === 'second').map((e) => e.stage)).toEqual(requestStages);
    expect(events.find((e) => e.step?.name === 'second')!.step).toEqual({ name: 'second', index: 1 });
    expect(events.every((e) => e.permalink === 'two' && !e.failed)).toBe(true);
  });

  it('an observer that throws does not change the answer (it is logged), and a stopped observer hears nothing', async () => {
    const stopThrowing = runtimeFor(h.services).observeStages(() => {
      throw new Error('observer broke');
    });
    const before = h.logs.length;
    try {
      const r = await h.exec('echo');
      expect(r.status).toBe(200);
    } finally {
      stopThrowing();
    }
    expect(h.logs.slice(before).some((line) => line.includes('stage observer failed') && line.includes('observer broke'))).toBe(true);

    const { events, stop } = observe();
    stop();
    expect((await h.exec('echo')).status).toBe(200);
    expect(events).toEqual([]);
  });

  it('an observer that does not want a call is never told of its stages; one that wants it is', async () => {
    const asked: string[] = [];
    const unwanted: string[] = [];
    const wanted: string[] = [];
    const stops = [
      runtimeFor(h.services).observeStages(
        Object.assign((e: StageEvent) => unwanted.push(e.stage), {
          start: ({ stage }: { stage: string }) => unwanted.push(`start ${stage}`),
          wants: (call: { permalink: string }) => {
            asked.push(call.permalink);
            return false;
          },
        }),
      ),
      runtimeFor(h.services).observeStages(Object.assign((e: StageEvent) => wanted.push(e.stage), { wants: () => true })),
    ];
    try {
      expect((await h.exec('echo')).status).toBe(200);
    } finally {
      for (const stop of stops) stop();
    }
    expect(asked).toEqual(['echo']); // asked once per call, not per stage
    expect(unwanted).toEqual([]);
    expect(wanted.length).toBeGreaterThan(3);
  });
});
