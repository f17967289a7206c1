import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { ConnectorDefinition, StoredConnector } from '../../src/registry/model.js';
import { RegistryStore } from '../../src/registry/store.js';
import { RegistryView } from '../../src/registry/view.js';
import { ChangeFeed } from '../../src/tenants/changes.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { connector } from './fixtures.js';

/** Version k of the link's file: ten connectors always present, plus churn (created/deleted per version). */
function versionSet(k: number): ConnectorDefinition[] {
  const always = Array.from({ length: 10 }, (_, i) => connector(`p${i}`, { url: `https://api.example.com/v/${k}/p${i}` }));
  const churn = [connector(`extra-${k % 3}`, { url: `https://api.example.com/v/${k}/extra` }), connector(`only-${k % 5}`, { url: `https://api.example.com/v/${k}/only` })];
  return [...always, ...churn];
}

const VERSIONS = 1000;

const versionOf = (c: StoredConnector) => Number(/\/v\/(\d+)\//.exec((c.definition as ConnectorDefinition).url)![1]);

interface Process {
  redis: Redis;
  feed: ChangeFeed;
  store: RegistryStore;
}

function process_(): Process {
  const redis = new Redis(testRedisUrl());
  const feed = new ChangeFeed(redis, createLogger('silent'));
  return { redis, feed, store: new RegistryStore(redis, feed) };
}

describe('concurrent replacement while readers read', () => {
  const processes: Process[] = [];
  beforeAll(async () => {
    await flushTestRedis();
    for (let i = 0; i < 3; i++) processes.push(process_());
  });
  afterAll(async () => {
    for (const p of processes) {
      await p.feed.close();
      p.redis.disconnect();
    }
  });

  it('readers only ever see one whole version of the link (hammer)', async () => {
    const [writerA, writerB, reader] = processes as [Process, Process, Process];
    await reader.store.createManual('acme', connector('manual-keep'));
    let next = 0;
    let writing = true;
    const applied: number[] = [];

    const writer = async (p: Process) => {
      while (next < VERSIONS) {
        const k = next++;
        await p.store.replaceLink('acme', 'org/repo', { connectors: versionSet(k), composites: [], commitSha: `sha-${k}` });
        applied.push(k);
      }
    };

    let snapshots = 0;
    let viewReads = 0;
    const problems: string[] = [];
    const listReader = async () => {
      while (writing) {
        const all = await reader.store.list('acme');
        const repo = all.filter((c) => c.source === 'repository');
        if (repo.length === 0) continue;
        snapshots++;
        const versions = new Set(repo.map(versionOf));
        const shas = new Set(repo.map((c) => c.commit_sha));
        if (versions.size !== 1) {
          problems.push(`mixed versions ${[...versions].join(',')}`);
          continue;
        }
        const k = [...versions][0]!;
        // Unchanged connectors keep their definition but their commit moves with the file.
        if (shas.size !== 1 || !shas.has(`sha-${k}`)) problems.push(`version ${k} with commits ${[...shas].join(',')}`);
        const expected = versionSet(k).map((c) => c.permalink).sort();
        const got = repo.map((c) => c.definition.permalink).sort();
        if (JSON.stringify(expected) !== JSON.stringify(got)) problems.push(`version ${k}: set ${got.join(',')}`);
        if (!all.some((c) => c.definition.permalink === 'manual-keep')) problems.push('manual connector vanished');
      }
    };

    // The runtime's path: a view in another process, each entry must be internally consistent.
    const view = new RegistryView(reader.store, (stored) => ({ version: versionOf(stored), revision: stored.revision }));
    const viewReader = async () => {
      while (writing) {
        const i = Math.floor(Math.random() * 10);
        const entry = await view.get('acme', `p${i}`);
        if (entry === undefined) continue;
        viewReads++;
        if (entry.compiled.revision !== entry.stored.revision) problems.push('compiled form of another revision');
        if (entry.stored.commit_sha !== `sha-${versionOf(entry.stored)}`) problems.push(`p${i}: definition v${versionOf(entry.stored)} with ${entry.stored.commit_sha}`);
      }
    };

    const readers = [listReader(), listReader(), viewReader(), viewReader()];
    await Promise.all([writer(writerA), writer(writerB), writer(writerA), writer(writerB)]);
    writing = false;
    await Promise.all(readers);

    expect(problems).toEqual([]);
    expect(applied).toHaveLength(VERSIONS);
    expect(snapshots).toBeGreaterThan(50);
    expect(viewReads).toBeGreaterThan(50);
    console.info(`replaceLink hammer: ${VERSIONS} replacements by 4 writers, ${snapshots} list snapshots and ${viewReads} view reads checked`);

    // The final state is one whole version (which one depends on the order Redis ran the writers'
    // scripts), and the view of the other process converges to it within 1 s.
    const final = (await reader.store.list('acme')).filter((c) => c.source === 'repository');
    const finalVersions = new Set(final.map(versionOf));
    expect(finalVersions.size).toBe(1);
    const last = [...finalVersions][0]!;
    expect(final.map((c) => c.definition.permalink).sort()).toEqual(versionSet(last).map((c) => c.permalink).sort());
    const deadline = Date.now() + 1000;
    let converged = false;
    while (!converged && Date.now() < deadline) {
      const entries = await Promise.all(Array.from({ length: 10 }, (_, i) => view.get('acme', `p${i}`)));
      converged = entries.every((e) => e !== undefined && versionOf(e.stored) === last);
      if (!converged) await new Promise((r) => setTimeout(r, 10));
    }
    expect(converged).toBe(true);
    view.close();
  });

  it('50 concurrent updates of one manual connector from three processes end consistent', async () => {
    await processes[0]!.store.createManual('acme', connector('busy'));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => processes[i % 3]!.store.updateManual('acme', 'busy', connector('busy', { name: `Busy ${i}`, url: `https://api.example.com/v/${i}/busy` }))),
    );
    expect(results.every((r) => r.changed)).toBe(true);
    const final = (await processes[2]!.store.get('acme', 'busy'))!;
    expect(final.definition.name).toBe(`Busy ${versionOf(final)}`);
    const revisions = new Set(results.map((r) => r.stored.revision));
    expect(revisions.has(final.revision)).toBe(true);
    expect(await processes[1]!.redis.get('gh:{t:acme}:rev')).toBe(String(1 + VERSIONS + 1 + 50));
  });
});
