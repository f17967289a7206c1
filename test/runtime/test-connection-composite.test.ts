import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, step, type Harness } from './harness.js';

/**
 * Test Connection beyond simple saved connectors: composites (saved, and unsaved as "composite"),
 * and the raw upstream answer shown beside the transformed body.
 */

describe('Test Connection: composites and the raw upstream body', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    up.route('/contacts', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": 42, "email": "jo@example.com"}');
    });
    up.route('/orders', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ contact: new URL(req.url, 'http://x').searchParams.get('contact_id'), orders: [1, 2] }));
    });
    await h.linkComposite('acme', [
      {
        name: 'Contact Orders',
        permalink: 'contact-orders',
        steps: [
          step({ name: 'contact', url: `${up.url}/contacts` }),
          step({
            name: 'orders',
            url: `${up.url}/orders`,
            query_parameters: [{ key: 'contact_id', value: '{{ (steps.contact.body | from_json).id }}', overridable: false }],
            response_body: '{"count": {{ (response.body | from_json).orders | length }}}',
          }),
        ],
      },
    ]);
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  it('runs a saved composite by permalink: the last step answers, its raw body is beside the transformed one', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'contact-orders', request: {} });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe(200);
    expect(r.body.body).toBe('{"count": 2}');
    expect(r.body.upstream).toEqual({ status: 200, body: '{"contact":"42","orders":[1,2]}' });
    expect(r.body.timing.steps.map((s: { name: string }) => s.name)).toEqual(['contact', 'orders']);
    expect(JSON.parse(r.headers.get('x-debug-request')!).url).toBe(`${up.url}/orders?contact_id=42`);
  });

  it('runs an unsaved composite ("composite", as an object or as text) validated like the registry file', async () => {
    const composite = {
      name: 'Draft',
      steps: [{ name: 'contact', url: `${up.url}/contacts`, response_body: '{{ (response.body | from_json).email }}' }],
    };
    for (const sent of [composite, JSON.stringify(composite)]) {
      const r = await h.admin('POST', '/tenants/acme/connectors/test', { composite: sent });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 200, body: 'jo@example.com', upstream: { status: 200, body: '{"id": 42, "email": "jo@example.com"}' } });
    }
    const invalid = await h.admin('POST', '/tenants/acme/connectors/test', { composite: { name: 'Bad', steps: [{ name: 'a', url: 'ftp://x' }] } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.code).toBe('VALIDATION_FAILED');
    expect(invalid.body.error.details[0].path).toBe('/steps/0/url');
    const broken = await h.admin('POST', '/tenants/acme/connectors/test', { composite: '{"name": "x", ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'INVALID_JSON', line: 1 });
  });

  it('a simple connector with a response template shows the raw upstream body too; none reached → upstream null', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', {
      connector: { name: 'Email only', url: `${up.url}/contacts`, response_body: '{{ (response.body | from_json).email }}' },
    });
    expect(r.body).toMatchObject({ status: 200, body: 'jo@example.com', upstream: { status: 200, body: '{"id": 42, "email": "jo@example.com"}' } });
    const missing = await h.admin('POST', '/tenants/acme/connectors/test', {
      connector: { name: 'Needs id', url: `${up.url}/contacts/{{ pathParams.id }}`, path_parameters: [{ key: 'id' }] },
    });
    expect(missing.body.status).toBe(400);
    expect(missing.body.upstream).toBeNull();
  });

  it('exactly one of connector, composite, permalink', async () => {
    const two = await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'contact-orders', composite: { name: 'x', steps: [] } });
    expect(two.status).toBe(400);
    expect(two.body.error.message).toMatch(/exactly one of "connector".*"composite".*"permalink"/);
  });
});
