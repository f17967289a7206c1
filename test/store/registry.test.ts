import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { ConnectorDefinition } from '../../src/registry/model.js';
import { canonicalJson, definitionRevision, RegistryCollisionError, RegistryStore } from '../../src/registry/store.js';
import { ChangeFeed } from '../../src/tenants/changes.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { composite, connector } from './fixtures.js';

describe('RegistryStore', () => {
  let redis: Redis;
  let feed: ChangeFeed;
  let store: RegistryStore;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    feed = new ChangeFeed(redis, createLogger('silent'));
    store = new RegistryStore(redis, feed);
  });
  beforeEach(async () => flushTestRedis());
  afterAll(async () => {
    await feed.close();
    redis.disconnect();
  });

  it('replaceLink creates, updates only changed definitions, and deletes what left the file', async () => {
    const first = await store.replaceLink('t1', 'org/repo', { connectors: [connector('a'), connector('b'), connector('c')], composites: [composite('combo')], commitSha: 'sha1' });
    expect(first).toEqual({ created: ['a', 'b', 'c', 'combo'], updated: [], deleted: [] });

    const second = await store.replaceLink('t1', 'org/repo', {
      connectors: [connector('a'), connector('b', { method: 'POST' }), connector('d')],
      composites: [composite('combo')],
      commitSha: 'sha2',
    });
    expect(second).toEqual({ created: ['d'], updated: ['b'], deleted: ['c'] });

    const a = await store.get('t1', 'a');
    expect(a).toMatchObject({ tenant: 't1', kind: 'connector', source: 'repository', repository: 'org/repo', link: 't1:org/repo', commit_sha: 'sha2' });
    // Unchanged definition: timestamps kept, commit moves on.
    expect(a!.updated_at).toBe(a!.created_at);
    const b = await store.get('t1', 'b');
    expect(b!.definition).toMatchObject({ method: 'POST' });
    expect(b!.revision).toBe(createHash('sha256').update(canonicalJson(b!.definition)).digest('hex'));
    expect((await store.get('t1', 'combo'))!.kind).toBe('composite');
    expect(await store.get('t1', 'c')).toBeUndefined();

    const same = await store.replaceLink('t1', 'org/repo', { connectors: [connector('a'), connector('b', { method: 'POST' }), connector('d')], composites: [composite('combo')], commitSha: 'sha2' });
    expect(same).toEqual({ created: [], updated: [], deleted: [] });
  });

  it('revision ignores key order but not values', () => {
    const x = connector('x');
    const reordered = Object.fromEntries(Object.entries(x).reverse()) as unknown as ConnectorDefinition;
    expect(definitionRevision(reordered)).toBe(definitionRevision(x));
    expect(definitionRevision(connector('x', { url: 'https://api.example.com/y' }))).not.toBe(definitionRevision(x));
  });

  it('a permalink owned by a manual connector fails the whole replacement', async () => {
    await store.replaceLink('t1', 'org/repo', { connectors: [connector('a')], composites: [], commitSha: 's1' });
    await store.createManual('t1', connector('manual-one'));
    const before = await store.list('t1');
    const err = await store
      .replaceLink('t1', 'org/repo', { connectors: [connector('new-one'), connector('manual-one')], composites: [], commitSha: 's2' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryCollisionError);
    expect((err as RegistryCollisionError).permalinks).toEqual(['manual-one']);
    expect((err as RegistryCollisionError).collisions).toEqual([{ permalink: 'manual-one', owner: { source: 'manual' } }]);
    expect((err as Error).message).toContain('manual connector');
    expect(await store.list('t1')).toEqual(before);
  });

  it('a permalink of another link of the same tenant fails too; other tenants do not collide', async () => {
    await store.replaceLink('t1', 'org/one', { connectors: [connector('shared')], composites: [], commitSha: 's1' });
    const err = await store.replaceLink('t1', 'org/two', { connectors: [connector('x'), connector('shared')], composites: [composite('shared-c')], commitSha: 's1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryCollisionError);
    expect((err as RegistryCollisionError).collisions).toEqual([{ permalink: 'shared', owner: { source: 'repository', repository: 'org/one' } }]);
    expect((await store.list('t1')).map((c) => c.definition.permalink)).toEqual(['shared']);
    expect(await store.replaceLink('t2', 'org/two', { connectors: [connector('shared')], composites: [], commitSha: 's1' })).toEqual({ created: ['shared'], updated: [], deleted: [] });
  });

  it('removeLink and an empty file delete only that link', async () => {
    await store.createManual('t1', connector('manual'));
    await store.replaceLink('t1', 'org/one', { connectors: [connector('one-a'), connector('one-b')], composites: [], commitSha: 's' });
    await store.replaceLink('t1', 'org/two', { connectors: [connector('two-a')], composites: [], commitSha: 's' });
    expect(await store.replaceLink('t1', 'org/one', { connectors: [], composites: [], commitSha: 's2' })).toEqual({ created: [], updated: [], deleted: ['one-a', 'one-b'] });
    expect(await store.removeLink('t1', 'org/two')).toEqual({ deleted: ['two-a'] });
    expect(await store.removeLink('t1', 'org/two')).toEqual({ deleted: [] });
    expect((await store.list('t1')).map((c) => `${c.definition.permalink}:${c.source}`)).toEqual(['manual:manual']);
  });

  it('rejects a set with a repeated permalink and a malformed repository', async () => {
    await expect(store.replaceLink('t1', 'org/repo', { connectors: [connector('a')], composites: [composite('a')], commitSha: 's' })).rejects.toThrow(/appears twice/);
    await expect(store.replaceLink('t1', 'not-a-repo', { connectors: [], composites: [], commitSha: 's' })).rejects.toThrow(/owner\/repo/);
  });

  it('manual CRUD: create, taken, update (unchanged keeps timestamps), read-only, delete', async () => {
    const created = await store.createManual('t1', connector('m'));
    expect(created).toMatchObject({ source: 'manual', kind: 'connector' });
    expect(created).not.toHaveProperty('repository');
    await expect(store.createManual('t1', connector('m'))).rejects.toMatchObject({ code: 'PERMALINK_TAKEN', status: 409 });
    const unchanged = await store.updateManual('t1', 'm', connector('m'));
    expect(unchanged).toMatchObject({ created: false, changed: false });
    expect(unchanged.stored.updated_at).toBe(created.updated_at);
    await new Promise((r) => setTimeout(r, 5));
    const changed = await store.updateManual('t1', 'm', connector('m', { method: 'DELETE' }));
    expect(changed).toMatchObject({ created: false, changed: true });
    expect(changed.stored.created_at).toBe(created.created_at);
    expect(changed.stored.updated_at > created.updated_at).toBe(true);
    await expect(store.updateManual('t1', 'nope', connector('nope'))).rejects.toMatchObject({ code: 'CONNECTOR_NOT_FOUND', status: 404 });
    await expect(store.updateManual('t1', 'm', connector('other'))).rejects.toMatchObject({ code: 'PERMALINK_MISMATCH' });
    await store.replaceLink('t1', 'org/repo', { connectors: [connector('r')], composites: [], commitSha: 's' });
    await expect(store.updateManual('t1', 'r', connector('r'), { upsert: true })).rejects.toMatchObject({ code: 'READ_ONLY_CONNECTOR' });
    await expect(store.deleteManual('t1', 'r')).rejects.toMatchObject({ code: 'READ_ONLY_CONNECTOR' });
    await store.deleteManual('t1', 'm');
    await expect(store.deleteManual('t1', 'm')).rejects.toMatchObject({ code: 'CONNECTOR_NOT_FOUND' });
  });

  it('every change bumps the tenant revision and publishes "<tenant> <revision>"; no-ops publish nothing', async () => {
    const sub = new Redis(testRedisUrl());
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => messages.push(m));
    await sub.subscribe('gh:changes');
    try {
      await store.createManual('t9', connector('a'));
      await store.updateManual('t9', 'a', connector('a', { method: 'PUT' }));
      await store.updateManual('t9', 'a', connector('a', { method: 'PUT' }));
      await store.replaceLink('t9', 'o/r', { connectors: [connector('b')], composites: [], commitSha: 's' });
      await store.replaceLink('t9', 'o/r', { connectors: [connector('b')], composites: [], commitSha: 's' });
      await store.removeLink('t9', 'o/r');
      await store.deleteManual('t9', 'a');
      await store.removeLink('t9', 'o/r');
      const deadline = Date.now() + 2000;
      while (messages.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(messages).toEqual(['t9 1', 't9 2', 't9 3', 't9 4', 't9 5']);
      expect(await redis.get('gh:{t:t9}:rev')).toBe('5');
    } finally {
      sub.disconnect();
    }
  });

  it('keeps every per-tenant key inside the tenant hash tag', async () => {
    await store.createManual('t1', connector('a'));
    await store.replaceLink('t1', 'o/r', { connectors: [connector('b')], composites: [], commitSha: 's' });
    const keys = await redis.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^gh:\{t:t1\}:/);
  });
});
