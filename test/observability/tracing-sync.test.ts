import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connector, registry, startHarness, WEBHOOK_SECRET, GITHUB_TOKEN, type Harness } from '../sync/harness.js';
import { KIND, startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

/**
 * One trace from a push webhook through the BullMQ queue to activation: the delivery's server
 * span, the producer span that queued the sync job, the worker's consumer span continuing the
 * context carried in the job data (W3C `traceparent` only), and the sync stages down to `activate`.
 */

const REPO = 'acme/traced';
const FILE = 'connectors_registry.json';

describe('tracing a push from webhook to activation', () => {
  let h: Harness;
  let otlp: OtlpReceiver;
  const flush = () => h.svc.services.tracing!.flush();

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    h = await startHarness({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '20' } });
    await h.createTenant('acme');
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
    const linked = await h.link('acme', REPO);
    expect(linked.status).toBe(201);
    // Settled, not just its record finished: a push arriving before the first sync releases the
    // link waits behind it and is queued by that sync's worker, outside the webhook's trace.
    expect(await h.settle('acme', REPO)).toMatchObject({ id: linked.body.sync_id, state: 'succeeded' });
  });
  afterAll(async () => {
    await h?.close();
    await otlp?.close();
  });

  it('the webhook span is the parent of the queued job, whose processing and activation continue the same trace', async () => {
    const { sha, delivery } = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect(delivery.status).toBe(202);
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'push', sha });

    const webhook = await otlp.waitFor(
      (spans) => spans.find((s) => s.kind === KIND.server && s.attributes['gatehouse.webhook.delivery'] === delivery.deliveryId),
      'the webhook delivery span',
      flush,
    );
    expect(webhook.name).toBe('POST /webhooks/github');
    expect(webhook.attributes).toMatchObject({ 'http.route': '/webhooks/github', 'http.response.status_code': 202, 'gatehouse.webhook.event': 'push' });
    // Spans are exported as they end, in batches: the producer span may arrive after the stages, the
    // consumer span (it ends last) after all of them. Wait for the three, not for one of them.
    const activate = await otlp.waitFor(
      (spans) => {
        const inTrace = spans.filter((s) => s.traceId === webhook.traceId);
        return ['send sync', 'process sync'].every((name) => inTrace.some((s) => s.name === name)) ? inTrace.find((s) => s.name === 'sync activate') : undefined;
      },
      'the producer, consumer and activation spans in the webhook\'s trace',
      flush,
    );
    const trace = otlp.spans.filter((s) => s.traceId === webhook.traceId);
    const send = trace.find((s) => s.name === 'send sync')!;
    expect(send.kind).toBe(KIND.producer);
    expect(send.parentSpanId).toBe(webhook.spanId);
    expect(send.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': 'sync', 'messaging.message.id': record.id, 'gatehouse.tenant': 'acme' });
    const processSpan = trace.find((s) => s.name === 'process sync')!;
    expect(processSpan.kind).toBe(KIND.consumer);
    expect(processSpan.parentSpanId).toBe(send.spanId);
    expect(processSpan.attributes).toMatchObject({ 'messaging.message.id': record.id, 'gatehouse.sync.state': 'succeeded', 'gatehouse.sync.attempt': 1 });
    expect(activate.parentSpanId).toBe(processSpan.spanId);
    const stages = trace.filter((s) => s.parentSpanId === processSpan.spanId).map((s) => s.name);
    expect(stages).toEqual(expect.arrayContaining(['sync resolve-head', 'sync fetch-registry', 'sync validate', 'sync activate']));

    // The job data carries the W3C context and nothing else besides its ids.
    const job = await h.svc.services.sync.queues.sync.getJob(record.id);
    expect(Object.keys(job!.data).sort()).toEqual(['repoKey', 'syncId', 'tenant', 'trace']);
    expect(Object.keys(job!.data.trace!)).toEqual(['traceparent']);
    expect(job!.data.trace!.traceparent).toBe(`00-${webhook.traceId}-${send.spanId}-01`);

    // No secret of the service in any exported span.
    await flush();
    for (const body of otlp.bodies) for (const secret of [WEBHOOK_SECRET, GITHUB_TOKEN]) expect(body).not.toContain(secret);
  });

  it('refused deliveries are server spans too: a 401 is not the server\'s error, a 503 is (named by its code)', async () => {
    const refused = await fetch(`${h.svc.url}/webhooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'refused-1', 'x-hub-signature-256': 'sha256=00' }, body: '{}' });
    expect(refused.status).toBe(401);
    const refusedId = refused.headers.get('x-request-id');
    const githubSpan = await otlp.waitFor((spans) => spans.find((s) => s.attributes['gatehouse.request_id'] === refusedId), 'the refused GitHub delivery span', flush);
    expect(githubSpan).toMatchObject({ name: 'POST /webhooks/github', kind: KIND.server });
    expect(githubSpan.attributes['http.response.status_code']).toBe(401);
    expect(githubSpan.statusCode).not.toBe(2);

    const gitlab = await fetch(`${h.svc.url}/webhooks/gitlab`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'whatever' }, body: '{}' });
    expect(gitlab.status).toBe(503);
    const gitlabId = gitlab.headers.get('x-request-id');
    const gitlabSpan = await otlp.waitFor((spans) => spans.find((s) => s.attributes['gatehouse.request_id'] === gitlabId), 'the GitLab delivery span', flush);
    expect(gitlabSpan).toMatchObject({ name: 'POST /webhooks/gitlab', kind: KIND.server, statusCode: 2 });
    expect(gitlabSpan.attributes).toMatchObject({ 'http.route': '/webhooks/gitlab', 'http.response.status_code': 503, 'error.type': 'WEBHOOKS_NOT_CONFIGURED' });
    // The token the sender gave is never recorded.
    expect(otlp.bodies.some((b) => b.includes('whatever'))).toBe(false);
  });
});
