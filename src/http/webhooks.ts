import { Webhooks } from '@octokit/webhooks';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, BadRequestError } from '../errors.js';
import type { Services } from '../services.js';
import { syncKeys } from '../sync/keys.js';
import { tracedRoute } from './traced-route.js';

/**
 * `POST /webhooks/github` (docs/sync.md#webhook-endpoint). The body is kept raw: the signature covers the exact bytes
 * GitHub sent. A delivery is verified (X-Hub-Signature-256 against every configured secret, so a
 * secret can be rotated), de-duplicated by X-GitHub-Delivery, and answered at once — a push to a
 * linked branch only queues syncs (202 `{queued: n}`); a pull request (opened, synchronize,
 * reopened) into a linked branch queues one check of its head commit (202 `{queued: n}`, n =
 * the tenant links it is checked for); everything else accepted is 200 `{queued: 0}`. A delivery rejected with 401 is not remembered (docs/design.md#webhook-answers): GitHub redelivers
 * it with the same id once the secret is fixed.
 */

/** GitHub caps webhook payloads at 25 MB. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
/** GitHub lets operators redeliver deliveries of the last 3 days; remember ids a little longer. */
const DELIVERY_TTL_S = 4 * 24 * 3600;
const ZERO_SHA = /^0{40}$/;

interface PushPayload {
  ref?: unknown;
  after?: unknown;
  repository?: { full_name?: unknown };
  pusher?: { name?: unknown };
  action?: unknown;
  number?: unknown;
  pull_request?: { number?: unknown; base?: { ref?: unknown }; head?: { sha?: unknown } };
}

/** Pull request actions that put a new head commit up for review. */
const CHECKED_PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);
const SHA = /^[0-9a-f]{40}$/;

export const webhookRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    const verifiers = services.config.githubWebhookSecrets.map((secret) => new Webhooks({ secret }));
    const raw = { parseAs: 'buffer' as const, bodyLimit: WEBHOOK_BODY_LIMIT };
    // Encapsulated: only this plugin's routes keep raw bodies. GitHub sends only these two types;
    // any other is refused with 415 (a text/plain parser would hand the route a string and the
    // answer would be a misleading 401 "signature does not match").
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], raw, (_request, body, done) => done(null, body));

    // One count per delivery: the outcome follows from the answer (see deliveryOutcome).
    const deliveries = services.telemetry.metrics.webhookDeliveries;
    app.addHook('onResponse', (request, reply, done) => {
      if (request.routeOptions.url === '/webhooks/github') {
        deliveries.inc({ source: 'github', event: knownEvent(headerOf(request, 'x-github-event')), outcome: deliveryOutcome(reply.statusCode, reply.getHeader(DUPLICATE_HEADER) !== undefined) });
      }
      done();
    });

    app.post('/webhooks/github', { bodyLimit: WEBHOOK_BODY_LIMIT }, tracedRoute(services.tracing, '/webhooks/github', async (request: FastifyRequest, reply: FastifyReply, span) => {
      if (verifiers.length === 0) {
        throw new AppError(503, 'WEBHOOKS_NOT_CONFIGURED', 'GitHub webhooks are refused: GITHUB_WEBHOOK_SECRET is not set, so deliveries cannot be verified (set it to the secret configured on the GitHub webhook)');
      }
      const body = request.body instanceof Buffer ? request.body.toString('utf8') : '';
      const signature = headerOf(request, 'x-hub-signature-256');
      if (signature === undefined) {
        throw new AppError(401, 'INVALID_SIGNATURE', 'missing X-Hub-Signature-256: give the GitHub webhook a secret equal to GITHUB_WEBHOOK_SECRET');
      }
      let verified = false;
      for (const v of verifiers) {
        if (body !== '' && (await v.verify(body, signature).catch(() => false))) {
          verified = true;
          break;
        }
      }
      if (!verified) throw new AppError(401, 'INVALID_SIGNATURE', 'X-Hub-Signature-256 does not match the payload for any configured webhook secret');

      const event = headerOf(request, 'x-github-event');
      const deliveryId = headerOf(request, 'x-github-delivery');
      if (event === undefined || deliveryId === undefined || deliveryId.length > 200) {
        throw new BadRequestError('INVALID_DELIVERY', 'a GitHub delivery carries X-GitHub-Event and X-GitHub-Delivery headers');
      }
      span?.setAttributes({ 'gatehouse.webhook.event': knownEvent(event), 'gatehouse.webhook.delivery': deliveryId });
      const seenKey = syncKeys.delivery(deliveryId);
      const remember = () => services.redis.set(seenKey, event, 'EX', DELIVERY_TTL_S, 'NX');
      let push: { repository: string; branch: string; after: string | undefined; pusher: string | undefined } | undefined;
      if (event === 'push') {
        const p = parsePayload(body, request.headers['content-type']);
        const ref = typeof p.ref === 'string' ? p.ref : '';
        const repository = typeof p.repository?.full_name === 'string' ? p.repository.full_name : undefined;
        if (ref.startsWith('refs/heads/') && repository !== undefined) {
          push = {
            repository,
            branch: ref.slice('refs/heads/'.length),
            after: typeof p.after === 'string' && /^[0-9a-f]{40}$/.test(p.after) && !ZERO_SHA.test(p.after) ? p.after : undefined,
            pusher: typeof p.pusher?.name === 'string' ? p.pusher.name : undefined,
          };
        }
      }
      let pr: { repository: string; branch: string; headSha: string; number: number } | undefined;
      if (event === 'pull_request') {
        const p = parsePayload(body, request.headers['content-type']);
        const repository = typeof p.repository?.full_name === 'string' ? p.repository.full_name : undefined;
        const branch = p.pull_request?.base?.ref;
        const headSha = p.pull_request?.head?.sha;
        const number = p.pull_request?.number ?? p.number;
        if (typeof p.action === 'string' && CHECKED_PR_ACTIONS.has(p.action) && repository !== undefined && typeof branch === 'string' && branch !== '' &&
          typeof headSha === 'string' && SHA.test(headSha) && typeof number === 'number' && Number.isInteger(number) && number > 0) {
          pr = { repository, branch, headSha, number };
        }
      }
      const target = push ?? pr;
      // One round trip for both: remember the delivery, and find the links a push or pull request concerns.
      const [fresh, links] = await Promise.all([remember(), target === undefined ? Promise.resolve([]) : services.sync.linksForPush(target.repository, target.branch)]);
      if (fresh === null) return reply.code(200).header(DUPLICATE_HEADER, 'true').send({ queued: 0, duplicate: true });
      if (target === undefined || links.length === 0) return reply.code(200).send({ queued: 0 });
      try {
        if (pr !== undefined) {
          await services.sync.onPullRequest({ ...pr, deliveryId });
          return reply.code(202).send({ queued: links.length });
        }
        const queued = await services.sync.onPush({ repository: push!.repository, branch: push!.branch, sha: push!.after, deliveryId, pusher: push!.pusher }, links, span);
        return reply.code(202).send({ queued });
      } catch (err) {
        // Not handled: GitHub may redeliver it, and then it must not be taken for a duplicate.
        await services.redis.del(seenKey).catch(() => undefined);
        throw err;
      }
    }));
  };

/** Marks a duplicate delivery's answer for the delivery metric (and tells the sender it was one). */
const DUPLICATE_HEADER = 'x-gatehouse-duplicate-delivery';

/** Event names GitHub sends; anything else is counted as "other" (the header is the sender's to choose). */
const GITHUB_EVENTS = new Set(['push', 'pull_request', 'installation', 'installation_repositories', 'ping', 'check_run', 'check_suite', 'create', 'delete', 'repository', 'status']);

function knownEvent(event: string | undefined): string {
  return event !== undefined && GITHUB_EVENTS.has(event) ? event : 'other';
}

/** The delivery metric's outcome of an answer. */
function deliveryOutcome(status: number, duplicate: boolean): string {
  if (status === 202) return 'queued';
  if (status === 200) return duplicate ? 'duplicate' : 'ignored';
  if (status === 401) return 'rejected';
  if (status === 503) return 'not_configured';
  if (status >= 400 && status < 500) return 'invalid';
  return 'failed';
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function parsePayload(body: string, contentType: string | undefined): PushPayload {
  let json = body;
  // Media types are case-insensitive (RFC 9110 §8.3.1).
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    json = new URLSearchParams(body).get('payload') ?? '';
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new BadRequestError('INVALID_PAYLOAD', 'the delivery payload is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestError('INVALID_PAYLOAD', 'the delivery payload is not a JSON object');
  }
  return parsed as PushPayload;
}
