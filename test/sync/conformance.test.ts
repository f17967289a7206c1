import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import { commitStatusFor } from '../../src/sync/report.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * Conformance of the repository/sync admin surface with docs/sync.md and docs/design.md#registry-and-sync:
 * edge cases found by an audit, each pinned by a test that failed before its fix.
 */

const FILE = 'connectors_registry.json';

describe('sync conformance', () => {
  let h: Harness;
  const liveOf = async (tenant: string, repository: string) =>
    (await h.svc.services.registry.list(tenant)).filter((c) => c.repository === repository).map((c) => c.definition.permalink).sort();

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
  });
  afterAll(async () => h?.close());

  it('repository names are case-insensitive; the spelling given when linking is the one shown, unlink included', async () => {
    h.double.createRepo('Acme/Cased').commit('main', { [FILE]: registry([connector('Cased One')]) });
    const first = await h.link('acme', 'Acme/Cased');
    expect(first.status).toBe(201);
    await h.waitForSync(first.body.sync_id);
    const again = await h.link('acme', 'acme/cased');
    expect(again.status).toBe(200);
    expect(again.body.repository).toBe('Acme/Cased');
    await h.settle('acme', 'acme/cased');
    const { delivery } = await h.push('Acme/Cased', { [FILE]: registry([connector('Cased One'), connector('Cased Two')]) });
    expect(delivery.body).toEqual({ queued: 1 });
    expect(await h.settle('acme', 'Acme/Cased')).toMatchObject({ state: 'succeeded', repository: 'Acme/Cased', plan: { created: ['cased-two'] } });
    const history = await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&repository=ACME/CASED&state=succeeded');
    expect(history.body.items.length).toBe(3);
    expect(history.body.items.every((r) => r.repository === 'Acme/Cased')).toBe(true);

    for (const bad of ['cased', 'acme/cased/extra', '/cased']) {
      const res = await h.admin<{ error: { code: string; message: string } }>('GET', `/syncs?repository=${encodeURIComponent(bad)}`);
      expect([bad, res.status, res.body.error.code]).toEqual([bad, 400, 'INVALID_REQUEST']);
      expect(res.body.error.message).toContain('/querystring/repository');
      // What to write instead, not the regular expression.
      expect(res.body.error.message).toContain(`${JSON.stringify(bad)} is not valid here: use owner/repo`);
      expect(res.body.error.message).not.toContain('^[^/]+');
    }

    const del = await h.admin('DELETE', '/tenants/acme/repositories/ACME/cased');
    expect(del).toEqual({ status: 200, body: { tenant: 'acme', repository: 'Acme/Cased', deleted: ['cased-one', 'cased-two'] } });
    expect(await liveOf('acme', 'Acme/Cased')).toEqual([]);
  });

  it('re-pointing a link while a push to the old branch is queued applies the new branch at once (no spurious "GitHub lagging" retries)', async () => {
    const repo = h.double.createRepo('acme/repoint');
    const base = repo.commit('main', { [FILE]: registry([connector('Main Zero')]) });
    repo.setBranch('release', base); // release is behind main
    await h.waitForSync((await h.link('acme', 'acme/repoint')).body.sync_id);
    const held = h.double.hold({ path: /contents/ });
    await h.push('acme/repoint', { [FILE]: registry([connector('Main One')]) });
    await held.arrived(); // that sync runs; the next push waits as the link's pending sync
    await h.push('acme/repoint', { [FILE]: registry([connector('Main Two')]) });
    const res = await h.link('acme', 'acme/repoint', 'release');
    expect(res.status).toBe(200);
    held.release();
    const record = await h.waitForSync(res.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'link', branch: 'release', sha: base, attempts: 1 });
    expect(await liveOf('acme', 'acme/repoint')).toEqual(['main-zero']);
  });

  it('commit status descriptions stay at most 140 characters and never split an emoji into a lone surrogate', () => {
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (let pad = 20; pad < 90; pad++) {
      const message = `${'x'.repeat(pad)} "🌦 Weather 🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦🌦"`;
      const status = commitStatusFor('acme', { state: 'failed', sha: 'a'.repeat(40), status: 'failure', errors: [{ path: '/connectors/0/name', line: 3, column: 15, message }] })!;
      expect(status.state).toBe('failure');
      expect(status.description.length).toBeLessThanOrEqual(140);
      expect(status.description).not.toMatch(loneSurrogate);
      expect(status.description.endsWith('…')).toBe(true);
    }
  });

  it('a registry file that is not UTF-8 fails with the position of its first foreign byte, like `gatehouse validate`; a UTF-8 BOM is accepted', async () => {
    const repo = h.double.createRepo('acme/encoding');
    repo.commit('main', { [FILE]: registry([connector('Encoded One')]) });
    await h.waitForSync((await h.link('acme', 'acme/encoding')).body.sync_id);

    // Latin-1: "Café" would otherwise go live as "Caf\uFFFD".
    const { sha } = await h.push('acme/encoding', { [FILE]: Buffer.from('{"connectors": [\n  {"name": "Caf\xe9 API", "url": "https://api.example.com/x"}\n]}\n', 'latin1') as unknown as string });
    const latin = await h.settle('acme', 'acme/encoding');
    expect(latin).toMatchObject({ state: 'failed', sha, plan: { created: [], updated: [], deleted: [] } });
    expect(latin.errors).toEqual([expect.objectContaining({ path: '', line: 2, column: 16 })]);
    expect(latin.errors[0]!.message).toMatch(/not valid UTF-8.*0xE9/);
    expect(await liveOf('acme', 'acme/encoding')).toEqual(['encoded-one']);
    await expect.poll(() => h.double.repo('acme/encoding').statuses.find((s) => s.sha === sha)?.state).toBe('failure');

    const text = registry([connector('Encoded Two')]);
    await h.push('acme/encoding', { [FILE]: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]) as unknown as string });
    const utf16 = await h.settle('acme', 'acme/encoding');
    expect(utf16.state).toBe('failed');
    expect(utf16.errors[0]!.message).toContain('UTF-16');

    await h.push('acme/encoding', { [FILE]: `\uFEFF${text}` });
    expect(await h.settle('acme', 'acme/encoding')).toMatchObject({ state: 'succeeded', plan: { created: ['encoded-two'], deleted: ['encoded-one'] } });
  });
});
