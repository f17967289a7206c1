import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/registry/store.js';
import type { ConnectorDefinition } from '../../src/registry/model.js';
import { testRedisClient } from '../support/redis.js';
import type { TestService } from '../support/service.js';
import { adminClient, connectorJson, startAdminService } from './support.js';

const repoConnector = (permalink: string): ConnectorDefinition => ({
  name: `Repo ${permalink}`,
  permalink,
  url: 'https://api.example.com/repo',
  method: 'GET',
  headers: [],
  query_parameters: [],
  path_parameters: [],
  authentication: { type: 'none' },
  request_body: '',
  response_body: '',
  response_content_type: '',
});

describe('connectors API (Code Mode)', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  beforeAll(async () => {
    ({ svc, call } = await startAdminService());
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
    await svc.services.registry.replaceLink('acme', 'acme/connectors', { connectors: [repoConnector('from-repo')], composites: [], commitSha: 'c0ffee' });
  });
  afterAll(async () => svc.close());

  it('POST creates a manual connector from raw JSON (201, Location, normalised definition)', async () => {
    const text = JSON.stringify(
      connectorJson({
        name: 'Idea Endorsements',
        url: 'https://api.example.com/ideas/{{ pathParams.idea_id }}/endorsements',
        headers: [{ key: 'Accept', value: 'application/json', overridable: false }],
        path_parameters: [{ key: 'idea_id' }],
        authentication: { type: 'apikey', config: { key: 'X-API-Key', value: "{{ get_secret('endorsements_api_key') }}", in: 'header' } },
        unknown_extra: 'ignored',
      }),
      null,
      2,
    );
    const res = await call('POST', '/tenants/acme/connectors', text, { raw: true });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/admin/v1/tenants/acme/connectors/idea-endorsements');
    expect(res.body).toMatchObject({
      tenant: 'acme',
      permalink: 'idea-endorsements',
      name: 'Idea Endorsements',
      kind: 'connector',
      source: 'manual',
      repository: null,
      commit_sha: null,
      definition: {
        name: 'Idea Endorsements',
        permalink: 'idea-endorsements',
        method: 'GET',
        authentication: { type: 'api_key', config: { key: 'X-API-Key', in: 'header' } },
        query_parameters: [],
        request_body: '',
      },
    });
    expect(res.body.definition).not.toHaveProperty('unknown_extra');
    expect(res.body.revision).toBe(createHash('sha256').update(canonicalJson(res.body.definition)).digest('hex'));
    expect(res.body.created_at).toBe(res.body.updated_at);
  });

  it('POST accepts text/plain too, and an explicit permalink', async () => {
    const res = await call('POST', '/tenants/acme/connectors', JSON.stringify(connectorJson({ permalink: 'weather-v2' })), { raw: true, contentType: 'text/plain' });
    expect(res.status).toBe(201);
    expect(res.body.permalink).toBe('weather-v2');
  });

  it('POST: malformed JSON → 400 INVALID_JSON with line and column on the error', async () => {
    const res = await call('POST', '/tenants/acme/connectors', '{\n  "name": "Broken",\n  "url": "https://x.example",,\n}', { raw: true });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'INVALID_JSON', message: expect.stringContaining('line 3, column 30'), line: 3, column: 30 } });
    for (const body of ['', '   ', '[1,', 'not json']) {
      const r = await call('POST', '/tenants/acme/connectors', body, { raw: true });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_JSON');
      expect(r.body.error.line).toBeGreaterThanOrEqual(1);
      expect(r.body.error.column).toBeGreaterThanOrEqual(1);
    }
  });

  it('POST: invalid fields → 422 VALIDATION_FAILED with every problem, pointer, line and column', async () => {
    const text = '{\n  "name": "Bad",\n  "url": "http://api.example.com/x",\n  "method": "FETCH",\n  "headers": [{"key": "A", "value": "1"}, {"key": "a", "value": "2"}]\n}';
    const res = await call('POST', '/tenants/acme/connectors', text, { raw: true });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    const details = res.body.error.details as { path: string; message: string; line: number; column: number }[];
    expect(details.length).toBeGreaterThanOrEqual(3);
    for (const d of details) {
      expect(Object.keys(d).sort()).toEqual(['column', 'line', 'message', 'path']);
      expect(d.line).toBeGreaterThanOrEqual(1);
    }
    expect(details.find((d) => d.path === '/method')).toMatchObject({ line: 4, column: 13 });
    expect(details.find((d) => d.path === '/url')).toMatchObject({ line: 3 });
    expect(details.some((d) => d.path.startsWith('/headers/1'))).toBe(true);
    const nonObject = await call('POST', '/tenants/acme/connectors', '[]', { raw: true });
    expect(nonObject.status).toBe(422);
    expect((await call('GET', '/tenants/acme/connectors/bad')).status).toBe(404);
  });

  it('POST: an existing permalink → 409 PERMALINK_TAKEN (manual or repository)', async () => {
    const dup = await call('POST', '/tenants/acme/connectors', JSON.stringify(connectorJson({ permalink: 'weather-v2' })), { raw: true });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'PERMALINK_TAKEN', details: { permalink: 'weather-v2', source: 'manual' } });
    const repo = await call('POST', '/tenants/acme/connectors', JSON.stringify(connectorJson({ permalink: 'from-repo' })), { raw: true });
    expect(repo.status).toBe(409);
    expect(repo.body.error).toMatchObject({ code: 'PERMALINK_TAKEN', details: { permalink: 'from-repo', source: 'repository', repository: 'acme/connectors' } });
  });

  it('GET lists {items} of both sources with source, repository, revision, updated_at', async () => {
    const res = await call('GET', '/tenants/acme/connectors');
    expect(res.status).toBe(200);
    expect(res.body.items.map((c: { permalink: string }) => c.permalink)).toEqual(['from-repo', 'idea-endorsements', 'weather-v2']);
    expect(res.body.items[0]).toEqual({
      tenant: 'acme',
      permalink: 'from-repo',
      name: 'Repo from-repo',
      kind: 'connector',
      source: 'repository',
      repository: 'acme/connectors',
      revision: expect.stringMatching(/^[0-9a-f]{64}$/),
      commit_sha: 'c0ffee',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(res.body.items[1]).not.toHaveProperty('definition');
  });

  it('GET one returns the definition; it round-trips through PUT unchanged (200, same revision)', async () => {
    const one = await call('GET', '/tenants/acme/connectors/idea-endorsements');
    expect(one.status).toBe(200);
    const put = await call('PUT', '/tenants/acme/connectors/idea-endorsements', JSON.stringify(one.body.definition), { raw: true });
    expect(put.status).toBe(200);
    expect(put.body.revision).toBe(one.body.revision);
    expect(put.body.updated_at).toBe(one.body.updated_at);
    expect(put.body.definition).toEqual(one.body.definition);
  });

  it('PUT updates (200, new revision, created_at kept)', async () => {
    const before = await call('GET', '/tenants/acme/connectors/weather-v2');
    const put = await call('PUT', '/tenants/acme/connectors/weather-v2', JSON.stringify(connectorJson({ permalink: 'weather-v2', method: 'POST' })), { raw: true });
    expect(put.status).toBe(200);
    expect(put.body.definition.method).toBe('POST');
    expect(put.body.revision).not.toBe(before.body.revision);
    expect(put.body.created_at).toBe(before.body.created_at);
  });

  it('PUT creates when missing (201); without a permalink in the body the URL names it', async () => {
    const put = await call('PUT', '/tenants/acme/connectors/from-url', JSON.stringify(connectorJson({ name: 'Some Other Name' })), { raw: true });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ permalink: 'from-url', name: 'Some Other Name', definition: { permalink: 'from-url' } });
  });

  it('PUT: a body permalink different from the URL → 422 pointing at it; invalid URL permalink → 400', async () => {
    const res = await call('PUT', '/tenants/acme/connectors/weather-v2', '{\n  "name": "W",\n  "url": "https://api.example.com/x",\n  "permalink": "elsewhere"\n}', { raw: true });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '/permalink', line: 4, column: 16 }] });
    const bad = await call('PUT', '/tenants/acme/connectors/Not_A_Permalink', JSON.stringify(connectorJson()), { raw: true });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_PERMALINK');
    const badJson = await call('PUT', '/tenants/acme/connectors/weather-v2', '{"name": }', { raw: true });
    expect(badJson.body.error).toMatchObject({ code: 'INVALID_JSON', line: 1, column: 10 });
  });

  it('repository-owned connectors are read-only: PUT and DELETE → 409 READ_ONLY_CONNECTOR', async () => {
    const put = await call('PUT', '/tenants/acme/connectors/from-repo', JSON.stringify(connectorJson()), { raw: true });
    expect(put.status).toBe(409);
    expect(put.body.error).toMatchObject({ code: 'READ_ONLY_CONNECTOR', details: { permalink: 'from-repo', repository: 'acme/connectors' } });
    const del = await call('DELETE', '/tenants/acme/connectors/from-repo');
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('READ_ONLY_CONNECTOR');
    expect((await call('GET', '/tenants/acme/connectors/from-repo')).body.source).toBe('repository');
  });

  it('PUT on a repository-owned connector answers READ_ONLY_CONNECTOR before judging the body', async () => {
    for (const body of ['{"name": ', '{"name": "x", "url": "ftp://x"}', '']) {
      const put = await call('PUT', '/tenants/acme/connectors/from-repo', body, { raw: true });
      expect(put.status, body).toBe(409);
      expect(put.body.error.code).toBe('READ_ONLY_CONNECTOR');
    }
  });

  it('DELETE removes a manual connector (204); unknown → 404 CONNECTOR_NOT_FOUND', async () => {
    expect((await call('DELETE', '/tenants/acme/connectors/from-url')).status).toBe(204);
    const again = await call('DELETE', '/tenants/acme/connectors/from-url');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('CONNECTOR_NOT_FOUND');
    expect((await call('GET', '/tenants/acme/connectors/from-url')).body.error.code).toBe('CONNECTOR_NOT_FOUND');
  });

  it('404 TENANT_NOT_FOUND for every connector route of an unknown tenant', async () => {
    const body = JSON.stringify(connectorJson());
    for (const [method, path, b] of [
      ['GET', '/tenants/ghost/connectors', undefined],
      ['GET', '/tenants/ghost/connectors/x', undefined],
      ['POST', '/tenants/ghost/connectors', body],
      ['PUT', '/tenants/ghost/connectors/x', body],
      ['DELETE', '/tenants/ghost/connectors/x', undefined],
    ] as const) {
      const res = await call(method, path, b, { raw: true });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('TENANT_NOT_FOUND');
    }
  });

  it('50 concurrent PUTs of one connector leave one consistent version', async () => {
    const versions = Array.from({ length: 50 }, (_, i) => connectorJson({ permalink: 'hammered', name: `Hammered ${i}`, url: `https://api.example.com/v/${i}` }));
    const answers = await Promise.all(versions.map((v) => call('PUT', '/tenants/acme/connectors/hammered', JSON.stringify(v), { raw: true })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(49);
    const final = await call('GET', '/tenants/acme/connectors/hammered');
    const i = Number(/Hammered (\d+)/.exec(final.body.name)![1]);
    expect(final.body.definition.url).toBe(`https://api.example.com/v/${i}`);
    expect(final.body.revision).toBe(createHash('sha256').update(canonicalJson(final.body.definition)).digest('hex'));
    // Meta and definition in Redis agree (written in one script).
    const redis = testRedisClient();
    try {
      const meta = (await redis.hget('gh:{t:acme}:cmeta', 'hammered'))!.split('\n');
      const def = JSON.parse((await redis.hget('gh:{t:acme}:cdefs', 'hammered'))!) as { name: string };
      expect(meta[2]).toBe(final.body.revision);
      expect(def.name).toBe(final.body.name);
    } finally {
      redis.disconnect();
    }
    // The view in this process serves the final version.
    const list = await call('GET', '/tenants/acme/connectors');
    expect(list.body.items.filter((c: { permalink: string }) => c.permalink === 'hammered')).toHaveLength(1);
  });

  it('50 concurrent POSTs of one permalink: exactly one wins', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call('POST', '/tenants/acme/connectors', JSON.stringify(connectorJson({ permalink: 'race', name: `Race ${i}` })), { raw: true })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.error.code === 'PERMALINK_TAKEN')).toHaveLength(49);
  });
});
