import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

describe('path parameters (docs/design.md#path-parameters)', () => {
  let h: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.createConnector('acme', {
      name: 'Idea Endorsements',
      url: `${up.url}/ideas/{{ pathParams.idea_id }}/endorsements/{{ pathParams.kind }}/{{ pathParams.fixed }}`,
      path_parameters: [{ key: 'idea_id' }, { key: 'kind', value: 'all' }, { key: 'fixed', value: 'v1', overridable: false }],
    });
    // Bypasses the validator (which rejects it at save) to show the run-time answer.
    await h.services.registry.createManual('acme', {
      name: 'Misconfigured', permalink: 'misconfigured', url: `${up.url}/x/{{ pathParams.nope }}`, method: 'GET',
      headers: [], query_parameters: [], path_parameters: [], authentication: { type: 'none' }, request_body: '', response_body: '', response_content_type: '',
    });
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  it('reads X-Path-Params (urlencoded) and substitutes into the URL', async () => {
    const r = await h.exec('idea-endorsements', { pathParams: 'idea_id=42&kind=recent' });
    expect(r.status).toBe(200);
    expect(up.requests[0]!.path).toBe('/ideas/42/endorsements/recent/v1');
  });

  it('a row value is a default; overridable:false pins it (caller value ignored)', async () => {
    await h.exec('idea-endorsements', { pathParams: 'idea_id=USER_42&fixed=v2' });
    expect(up.requests[0]!.path).toBe('/ideas/USER_42/endorsements/all/v1');
  });

  for (const ok of ['42', 'user-42', 'USER_42', 'my.handle', 'a~b', '123e4567-e89b-12d3-a456-426614174000', 'x'.repeat(200)]) {
    it(`accepts ${ok.length > 40 ? '200 characters' : ok}`, async () => {
      const r = await h.exec('idea-endorsements', { pathParams: new URLSearchParams({ idea_id: ok }).toString() });
      expect(r.status).toBe(200);
    });
  }

  for (const bad of ['', 'has space', 'with/slash', 'with?q', '..', '.', 'a..b', '%20', 'with#hash', 'x'.repeat(201), 'tab\there', 'é']) {
    it(`rejects ${JSON.stringify(bad.length > 40 ? '201 characters' : bad)} with 400 INVALID_PATH_PARAMETERS and no upstream call`, async () => {
      const r = await h.exec('idea-endorsements', { pathParams: new URLSearchParams({ idea_id: bad }).toString() });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ success: false, errors: { code: 'INVALID_PATH_PARAMETERS', params: ['idea_id'] } });
      expect(up.requests).toHaveLength(0);
    });
  }

  it('missing beats invalid: a missing key is reported alone', async () => {
    const r = await h.exec('idea-endorsements', { pathParams: 'kind=..' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toMatchObject({ code: 'MISSING_PATH_PARAMETERS', params: ['idea_id'] });
    const none = await h.exec('idea-endorsements');
    expect(none.json.errors.code).toBe('MISSING_PATH_PARAMETERS');
  });

  it('an invalid default or caller value on another key is reported by key', async () => {
    const r = await h.exec('idea-endorsements', { pathParams: 'idea_id=ok&kind=a%2Fb' });
    expect(r.json.errors).toMatchObject({ code: 'INVALID_PATH_PARAMETERS', params: ['kind'] });
  });

  it('a URL referencing an undeclared path parameter → 400 CONNECTOR_MISCONFIGURED with detail', async () => {
    const r = await h.exec('misconfigured', { pathParams: 'nope=1' });
    expect(r.status).toBe(400);
    expect(r.json.errors.code).toBe('CONNECTOR_MISCONFIGURED');
    expect(r.json.errors.detail).toContain('nope');
    expect(up.requests).toHaveLength(0);
  });

  it('a path value is data: template syntax in it is never rendered', async () => {
    const r = await h.exec('idea-endorsements', { pathParams: new URLSearchParams({ idea_id: '{{7*7}}' }).toString() });
    expect(r.json.errors.code).toBe('INVALID_PATH_PARAMETERS');
  });
});
