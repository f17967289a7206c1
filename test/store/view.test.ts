import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { ConnectorDefinition, StoredConnector } from '../../src/registry/model.js';
import { canonicalJson, definitionRevision, RegistryStore } from '../../src/registry/store.js';
import { RegistryView } from '../../src/registry/view.js';
import { ChangeFeed } from '../../src/tenants/changes.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { connector } from './fixtures.js';

interface Proc {
  redis: Redis;
  feed: ChangeFeed;
  store: RegistryStore;
  compiles: string[];
  view: RegistryView<{ url: string; revision: string }>;
}

function proc(options: { pollIntervalMs?: number; compile?: (s: StoredConnector) => { url: string; revision: string } } = {}): Proc {
  const redis = new Redis(testRedisUrl());
  const feed = new ChangeFeed(redis, createLogger('silent'), { pollIntervalMs: options.pollIntervalMs ?? 500 });
  const store = new RegistryStore(redis, feed);
  const compiles: string[] = [];
  const view = new RegistryView(
    store,
    options.compile ??
      ((stored) => {
        compiles.push(`${stored.definition.permalink}@${stored.revision.slice(0, 8)}`);
        return { url: (stored.definition as ConnectorDefinition).url, revision: stored.revision };
      }),
  );
  return { redis, feed, store, compiles, view };
}

async function waitFor(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 2));
  }
  return Infinity;
}

describe('RegistryView', () => {
  const procs: Proc[] = [];
  const make = (options?: Parameters<typeof proc>[0]) => {
    const p = proc(options);
    procs.push(p);
    return p;
  };
  beforeAll(async () => flushTestRedis());
  afterAll(async () => {
    for (const p of procs) {
      p.view.close();
      await p.feed.close();
      p.redis.disconnect();
    }
  });

  it('compiles a connector once per revision and serves it from memory', async () => {
    const p = make();
    await p.store.createManual('acme', connector('a'));
    const first = await p.view.get('acme', 'a');
    expect(first?.stored.definition.permalink).toBe('a');
    expect(first?.compiled.revision).toBe(definitionRevision(connector('a')));
    const again = await p.view.get('acme', 'a');
    expect(again).toBe(first);
    expect(p.compiles).toHaveLength(1);

    // Another connector changing reloads the tenant, but an unchanged definition is not recompiled.
    await p.store.createManual('acme', connector('b'));
    const reloaded = await p.view.get('acme', 'a');
    expect(reloaded).not.toBe(first);
    expect(reloaded?.compiled).toBe(first?.compiled);
    expect(p.compiles).toHaveLength(1);
  });

  it('keeps only what `entry` makes of a definition, and still recompiles on a new revision', async () => {
    const redis = new Redis(testRedisUrl());
    const feed = new ChangeFeed(redis, createLogger('silent'), { pollIntervalMs: 500 });
    const store = new RegistryStore(redis, feed);
    const compiled: string[] = [];
    const view = new RegistryView(
      store,
      (stored) => {
        compiled.push(stored.revision);
        return { url: (stored.definition as ConnectorDefinition).url };
      },
      { entry: (_stored, c) => ({ compiled: c }) },
    );
    try {
      await store.createManual('acme', connector('lean'));
      const first = await view.get('acme', 'lean');
      expect(first).toEqual({ compiled: { url: 'https://api.example.com/lean' } });
      expect(Object.keys(first!)).toEqual(['compiled']);
      await store.updateManual('acme', 'lean', connector('lean', { url: 'https://api.example.com/lean/2' }));
      const second = await view.get('acme', 'lean');
      expect(second).toEqual({ compiled: { url: 'https://api.example.com/lean/2' } });
      expect(compiled).toHaveLength(2);
      // An unchanged revision reloaded after another connector's change reuses the compiled form.
      await store.createManual('acme', connector('other'));
      const reloaded = await view.get('acme', 'lean');
      expect(reloaded).not.toBe(second);
      expect(reloaded?.compiled).toBe(second?.compiled);
      expect(compiled).toHaveLength(2);
    } finally {
      view.close();
      await feed.close();
      redis.disconnect();
    }
  });

  it('sees its own process writes at once', async () => {
    const p = make();
    await p.store.createManual('acme', connector('own'));
    expect((await p.view.get('acme', 'own'))?.compiled.url).toBe('https://api.example.com/own');
    await p.store.updateManual('acme', 'own', connector('own', { url: 'https://api.example.com/changed' }));
    expect((await p.view.get('acme', 'own'))?.compiled.url).toBe('https://api.example.com/changed');
    await p.store.deleteManual('acme', 'own');
    expect(await p.view.get('acme', 'own')).toBeUndefined();
    await p.store.replaceLink('acme', 'o/r', { connectors: [connector('own')], composites: [], commitSha: 's' });
    expect((await p.view.get('acme', 'own'))?.stored.source).toBe('repository');
  });

  it('held: what get answered, without a promise, until a change drops it', async () => {
    const p = make();
    await p.store.createManual('acme', connector('kept'));
    expect(p.view.held('acme', 'kept')).toBeUndefined(); // not loaded yet: only get can tell
    const loading = p.view.get('acme', 'kept');
    expect(p.view.held('acme', 'kept')).toBeUndefined(); // still loading
    const first = await loading;
    expect(p.view.held('acme', 'kept')).toEqual({ entry: first });
    expect(p.view.held('acme', 'kept')?.entry).toBe(first);
    // A write in this process: held forgets at once, and after the next get holds the new definition.
    await p.store.updateManual('acme', 'kept', connector('kept', { url: 'https://api.example.com/kept-changed' }));
    expect(p.view.held('acme', 'kept')).toBeUndefined();
    expect((await p.view.get('acme', 'kept'))?.compiled.url).toBe('https://api.example.com/kept-changed');
    expect(p.view.held('acme', 'kept')?.entry?.compiled.url).toBe('https://api.example.com/kept-changed');
    // A deleted connector is held as absent, like get answers it.
    await p.store.deleteManual('acme', 'kept');
    expect(p.view.held('acme', 'kept')).toBeUndefined();
    expect(await p.view.get('acme', 'kept')).toBeUndefined();
    expect(p.view.held('acme', 'kept')).toEqual({ entry: undefined });
    // Another process's change reaches held like it reaches get (pub/sub).
    const writer = make();
    await writer.store.createManual('acme', connector('kept', { url: 'https://api.example.com/kept-remote' }));
    expect(await waitFor(async () => p.view.held('acme', 'kept') === undefined, 1000)).toBeLessThan(1000);
    expect((await p.view.get('acme', 'kept'))?.compiled.url).toBe('https://api.example.com/kept-remote');
    expect(p.view.held('acme', 'kept')?.entry?.compiled.url).toBe('https://api.example.com/kept-remote');
  });

  it('held: a tenant without registry state is held as empty only until its miss expires', async () => {
    const p = make();
    expect(await p.view.get('nobody-held', 'x')).toBeUndefined();
    expect(p.view.held('nobody-held', 'x')).toEqual({ entry: undefined });
    await p.store.createManual('nobody-held', connector('x'));
    // This process's own write drops the remembered miss at once.
    expect(p.view.held('nobody-held', 'x')).toBeUndefined();
    expect((await p.view.get('nobody-held', 'x'))?.stored.definition.permalink).toBe('x');
  });

  it('another process sees a change within one second through pub/sub', async () => {
    const writer = make();
    const reader = make({ pollIntervalMs: 60_000 });
    await writer.store.createManual('acme', connector('remote'));
    expect((await reader.view.get('acme', 'remote'))?.compiled.url).toBe('https://api.example.com/remote');
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const url = `https://api.example.com/remote/${i}`;
      await writer.store.updateManual('acme', 'remote', connector('remote', { url }));
      latencies.push(await waitFor(async () => (await reader.view.get('acme', 'remote'))?.compiled.url === url, 1000));
    }
    expect(Math.max(...latencies)).toBeLessThan(1000);
    console.info(`view refresh through pub/sub: max ${Math.max(...latencies)} ms over 20 changes`);
  });

  it('a missed message is caught by the periodic revision check within one second', async () => {
    const reader = make();
    const raw = new Redis(testRedisUrl());
    try {
      await reader.store.createManual('acme', connector('silent'));
      expect((await reader.view.get('acme', 'silent'))?.compiled.url).toBe('https://api.example.com/silent');
      // A change whose pub/sub message never arrives: written straight into Redis, no PUBLISH.
      const changed = connector('silent', { url: 'https://api.example.com/silent/2' });
      const meta = (await raw.hget('gh:{t:acme}:cmeta', 'silent'))!.split('\n');
      meta[2] = definitionRevision(changed);
      await raw.multi().hset('gh:{t:acme}:cmeta', 'silent', meta.join('\n')).hset('gh:{t:acme}:cdefs', 'silent', canonicalJson(changed)).incr('gh:{t:acme}:rev').exec();
      const took = await waitFor(async () => (await reader.view.get('acme', 'silent'))?.compiled.url === 'https://api.example.com/silent/2', 1500);
      expect(took).toBeLessThan(1000);
      console.info(`view refresh without a message (revision check): ${took} ms`);
    } finally {
      raw.disconnect();
    }
  });

  it('answers undefined for unknown tenants, permalinks and invalid ids', async () => {
    const p = make();
    expect(await p.view.get('nobody', 'x')).toBeUndefined();
    expect(await p.view.get('acme', 'does-not-exist')).toBeUndefined();
    expect(await p.view.get('Not Valid', 'x')).toBeUndefined();
    expect(await p.view.get('acme', '')).toBeUndefined();
    // A remembered miss is dropped when the connector appears.
    await make().store.createManual('acme', connector('does-not-exist'));
    expect(await waitFor(async () => (await p.view.get('acme', 'does-not-exist')) !== undefined, 1000)).toBeLessThan(1000);
  });

  it('does not track ids without state; a miss expires within one second even without a message', async () => {
    const p = make({ pollIntervalMs: 60_000 });
    const raw = new Redis(testRedisUrl());
    try {
      const trackedBefore = p.feed.tracked;
      for (let i = 0; i < 200; i++) expect(await p.view.get(`random-${i}`, 'x')).toBeUndefined();
      expect(p.feed.tracked).toBe(trackedBefore);
      // Written straight into Redis: no message, and the id was not tracked.
      const c = connector('x');
      await raw
        .multi()
        .hset('gh:{t:random-7}:cmeta', 'x', ['manual', '', definitionRevision(c), 'connector', 't', 't', ''].join('\n'))
        .hset('gh:{t:random-7}:cdefs', 'x', canonicalJson(c))
        .incr('gh:{t:random-7}:rev')
        .exec();
      const took = await waitFor(async () => (await p.view.get('random-7', 'x')) !== undefined, 2000);
      expect(took).toBeLessThanOrEqual(1000);
      expect(p.feed.tracked).toBe(trackedBefore + 1);
    } finally {
      raw.disconnect();
    }
  });

  it('a compile failure is reported to the caller and retried on the next call', async () => {
    let fail = true;
    const p = make({
      compile: (stored) => {
        if (fail) throw new Error('does not compile');
        return { url: (stored.definition as ConnectorDefinition).url, revision: stored.revision };
      },
    });
    await p.store.createManual('acme', connector('fragile'));
    await expect(p.view.get('acme', 'fragile')).rejects.toThrow('does not compile');
    fail = false;
    expect((await p.view.get('acme', 'fragile'))?.compiled.url).toBe('https://api.example.com/fragile');
  });
});
