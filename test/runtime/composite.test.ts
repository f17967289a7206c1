import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, step, type Harness } from './harness.js';

describe('composite connectors', () => {
  let h: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.putSecret('acme', 'k', 'step-secret');
    up.route('/contacts', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-trace': 'T1' });
      res.end(JSON.stringify({ id: 77, email: req.query.get('email') }));
    });
    up.route('/orders', (req, res) => {
      const status = req.query.get('contact_id') === '77' ? 200 : 404;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ orders: [1, 2], contact: req.query.get('contact_id'), trace: req.headers['x-trace'], body: req.body.toString() }));
    });
    up.route('/fail', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    await h.linkComposite('acme', [
      {
        name: 'Contact Orders',
        permalink: 'contact-orders',
        steps: [
          step({ name: 'contact', url: `${up.url}/contacts`, query_parameters: [{ key: 'email', value: '{{ user.email }}', overridable: false }], headers: [{ key: 'X-K', value: "{{ get_secret('k') }}", overridable: false }] }),
          step({
            name: 'orders',
            url: `${up.url}/orders`,
            method: 'POST',
            query_parameters: [{ key: 'contact_id', value: '{{ (steps.contact.body | from_json).id }}', overridable: false }],
            headers: [{ key: 'X-Trace', value: "{{ steps.contact.headers['x-trace'] }}", overridable: false }],
            request_body: '{"q": "{{ request.query_parameters.q }}", "p": {{ (request.body_text | from_json).n if request.body_text else 0 }}}',
            response_body: '{% set d = response.body | from_json %}{{ {"count": d.orders | length, "contact": d.contact, "trace": d.trace, "sent": d.body} | tojson }}',
            response_content_type: 'application/json',
          }),
        ],
      },
      {
        name: 'Failing',
        permalink: 'failing',
        steps: [step({ name: 'first', url: `${up.url}/contacts` }), step({ name: 'fetch-user', url: `${up.url}/fail` })],
      },
      { name: 'Bad Template', permalink: 'bad-template', steps: [step({ name: 'only', url: `${up.url}/contacts`, response_body: '{{ response.body | from_json | nope }}' })] },
      { name: 'Empty', permalink: 'empty', steps: [] },
    ]);
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  it('runs steps sequentially, feeding steps.<name>.body/.headers and request.* forward; answers the last step', async () => {
    const r = await h.exec('contact-orders', { composite: true, method: 'POST', token: await h.session(), query: '?q=shoes', body: '{"n": 3}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json).toEqual({ contact: '77', count: 2, sent: '{"q": "shoes", "p": 3}', trace: 'T1' });
    expect(up.requests.map((x) => x.path)).toEqual(['/contacts', '/orders']);
    expect(up.requests[0]!.query.get('email')).toBe('jo@example.com');
    expect(up.requests[0]!.headers['x-k']).toBe('step-secret');
    expect(r.headers.get('x-cache')).toBe('BYPASS');
    expect(r.headers.get('server-timing')).toContain('step.contact;');
    expect(JSON.parse(r.headers.get('x-connector-timing')!).steps.map((s: { name: string; index: number }) => [s.name, s.index])).toEqual([['contact', 0], ['orders', 1]]);
  });

  it('a step answering 4xx/5xx stops the run: 502 with scope naming the step and its 0-based index', async () => {
    const r = await h.exec('failing', { composite: true, method: 'POST' });
    expect(r.status).toBe(502);
    expect(r.json.errors.scope).toBe("Composite step 'fetch-user' (index 1): Downstream (HTTP error)");
    expect(r.text).not.toContain('boom');
    const steps = JSON.parse(r.headers.get('x-connector-timing')!).steps as { name: string; index: number; status?: number }[];
    expect(steps.map((s) => [s.name, s.index, s.status])).toEqual([['first', 0, 200], ['fetch-user', 1, 500]]);
  });

  it('a step template error is 422 with the step-prefixed template scope', async () => {
    const r = await h.exec('bad-template', { composite: true, method: 'POST' });
    expect(r.status).toBe(422);
    expect(r.json.errors.scope).toBe("Composite step 'only' (index 0): Configuration (template rendering)");
    // the failed step is timed too: it reached the upstream, then its response template failed
    const timing = JSON.parse(r.headers.get('x-connector-timing')!);
    expect(timing.steps).toHaveLength(1);
    expect(timing.steps[0]).toMatchObject({ name: 'only', index: 0, status: 200 });
    expect(r.headers.get('server-timing')).toContain('step.only;');
  });

  it('anonymous callers of a composite reading user.* get 401 before any step runs', async () => {
    const r = await h.exec('contact-orders', { composite: true, method: 'POST' });
    expect(r.status).toBe(401);
    expect(up.requests).toHaveLength(0);
  });

  it('a composite without steps → 500 with scope Unexpected error; other methods → 405', async () => {
    const r = await h.exec('empty', { composite: true, method: 'POST' });
    expect(r.status).toBe(500);
    expect(r.json.errors.scope).toBe('Unexpected error');
    expect((await h.exec('contact-orders', { composite: true, method: 'GET' })).status).toBe(405);
  });
});
