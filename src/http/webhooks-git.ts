import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, BadRequestError } from '../errors.js';
import type { Services } from '../services.js';
import type { SpanScope } from '../observability/tracing.js';
import { tracedRoute } from './traced-route.js';
import { syncKeys } from '../sync/keys.js';
import { WEBHOOK_BODY_LIMIT } from './webhooks.js';

/**
 * Push webhooks of other Git hosts, verified like GitHub's: a bad or missing secret is 401 and
 * queues nothing (and the delivery id is not remembered, so the host's redelivery counts);
 * deliveries are de-duplicated; a push to a linked branch answers 202 `{queued: n}`, anything
 * else accepted 200 `{queued: 0}`. The link is found by the payload's clone URL and branch.
 *  - `POST /webhooks/gitlab`: `X-Gitlab-Token` equals GITLAB_WEBHOOK_SECRET; event `Push Hook`;
 *    delivery id `Idempotency-Key` (kept across GitLab's retries) or `X-Gitlab-Event-UUID`.
 *  - `POST /webhooks/gitea`: `X-Gitea-Signature` (Forgejo: `X-Forgejo-Signature`) is the hex
 *    HMAC-SHA256 of the raw body with GITEA_WEBHOOK_SECRET; event `push`; delivery id
 *    `X-Gitea-Delivery` / `X-Forgejo-Delivery`.
 */

const DELIVERY_TTL_S = 4 * 24 * 3600;
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const ZERO_SHA = /^0+$/;

interface Push {
  urls: string[];
  branch: string;
  sha: string | undefined;
  pusher: string | undefined;
}

export const gitWebhookRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    const raw = { parseAs: 'buffer' as const, bodyLimit: WEBHOOK_BODY_LIMIT };
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], raw, (_request, body, done) => done(null, body));
    const { gitlabWebhookSecrets, giteaWebhookSecrets } = services.config;
    const tokenDigests = gitlabWebhookSecrets.map(digest);

    app.post('/webhooks/gitlab', { bodyLimit: WEBHOOK_BODY_LIMIT }, tracedRoute(services.tracing, '/webhooks/gitlab', async (request, reply, span) => {
      if (tokenDigests.length === 0) {
        throw new AppError(503, 'WEBHOOKS_NOT_CONFIGURED', 'GitLab webhooks are refused: GITLAB_WEBHOOK_SECRET is not set (set it to the Secret token configured on the GitLab webhook)');
      }
      const token = headerOf(request, 'x-gitlab-token');
      if (token === undefined) throw new AppError(401, 'INVALID_SIGNATURE', 'missing X-Gitlab-Token: set the webhook\'s Secret token to GITLAB_WEBHOOK_SECRET');
      const given = digest(token);
      if (!tokenDigests.some((d) => timingSafeEqual(d, given))) throw new AppError(401, 'INVALID_SIGNATURE', 'X-Gitlab-Token does not match any configured GITLAB_WEBHOOK_SECRET');
      const event = headerOf(request, 'x-gitlab-event') ?? '';
      const body = bodyOf(request);
      let push: Push | undefined;
      if (event === 'Push Hook') {
        const p = parsePayload(body, request.headers['content-type']);
        const project = objectOf(p.project);
        const repository = objectOf(p.repository);
        push = pushOf(p.ref, p.after, [project.git_http_url, project.web_url, repository.git_http_url, repository.homepage], p.user_username ?? p.user_name);
      }
      const id = headerOf(request, 'idempotency-key') ?? headerOf(request, 'x-gitlab-event-uuid');
      return accept(services, reply, `gitlab:${id ?? fallbackId(body)}`, event, push, span);
    }));

    app.post('/webhooks/gitea', { bodyLimit: WEBHOOK_BODY_LIMIT }, tracedRoute(services.tracing, '/webhooks/gitea', async (request, reply, span) => {
      if (giteaWebhookSecrets.length === 0) {
        throw new AppError(503, 'WEBHOOKS_NOT_CONFIGURED', 'Gitea/Forgejo webhooks are refused: GITEA_WEBHOOK_SECRET is not set (set it to the Secret configured on the webhook)');
      }
      const signature = headerOf(request, 'x-gitea-signature') ?? headerOf(request, 'x-forgejo-signature');
      if (signature === undefined) throw new AppError(401, 'INVALID_SIGNATURE', 'missing X-Gitea-Signature / X-Forgejo-Signature: give the webhook a Secret equal to GITEA_WEBHOOK_SECRET');
      const body = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
      const sig = signature.replace(/^sha256=/, '');
      const given = /^[0-9a-f]{64}$/i.test(sig) ? Buffer.from(sig, 'hex') : undefined;
      const verified = given !== undefined && body.length > 0 && giteaWebhookSecrets.some((s) => timingSafeEqual(createHmac('sha256', s).update(body).digest(), given));
      if (!verified) throw new AppError(401, 'INVALID_SIGNATURE', 'the webhook signature does not match the payload for any configured GITEA_WEBHOOK_SECRET');
      const event = headerOf(request, 'x-gitea-event') ?? headerOf(request, 'x-forgejo-event') ?? '';
      let push: Push | undefined;
      if (event === 'push') {
        const p = parsePayload(body.toString('utf8'), request.headers['content-type']);
        const repository = objectOf(p.repository);
        const pusher = objectOf(p.pusher);
        push = pushOf(p.ref, p.after, [repository.clone_url, repository.html_url], pusher.login ?? pusher.username);
      }
      const id = headerOf(request, 'x-gitea-delivery') ?? headerOf(request, 'x-forgejo-delivery');
      return accept(services, reply, `gitea:${id ?? fallbackId(body.toString('utf8'))}`, event, push, span);
    }));
  };

async function accept(services: Services, reply: FastifyReply, deliveryId: string, event: string, push: Push | undefined, span: SpanScope | undefined) {
  if (deliveryId.length > 250) throw new BadRequestError('INVALID_DELIVERY', 'the delivery id header is longer than 200 characters');
  const seenKey = syncKeys.delivery(deliveryId);
  const [fresh, links] = await Promise.all([
    services.redis.set(seenKey, event === '' ? 'unknown' : event, 'EX', DELIVERY_TTL_S, 'NX'),
    push === undefined ? Promise.resolve([]) : services.git.linksForPush(push.urls, push.branch),
  ]);
  if (fresh === null) return reply.code(200).send({ queued: 0, duplicate: true });
  if (push === undefined || links.length === 0) return reply.code(200).send({ queued: 0 });
  try {
    const queued = await services.git.onPush({ links, sha: push.sha, deliveryId, pusher: push.pusher, trace: span });
    return reply.code(202).send({ queued });
  } catch (err) {
    // Not handled: a redelivery must not be taken for a duplicate.
    await services.redis.del(seenKey).catch(() => undefined);
    throw err;
  }
}

function pushOf(ref: unknown, after: unknown, urls: unknown[], pusher: unknown): Push | undefined {
  if (typeof ref !== 'string' || !ref.startsWith('refs/heads/')) return undefined;
  const list = urls.filter((u): u is string => typeof u === 'string' && u !== '');
  if (list.length === 0) return undefined;
  return {
    urls: list,
    branch: ref.slice('refs/heads/'.length),
    sha: typeof after === 'string' && SHA.test(after) && !ZERO_SHA.test(after) ? after : undefined,
    pusher: typeof pusher === 'string' ? pusher : undefined,
  };
}

/** A host that sends no delivery id: the pushed commit, ref and repository identify the delivery. */
function fallbackId(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function bodyOf(request: FastifyRequest): string {
  return request.body instanceof Buffer ? request.body.toString('utf8') : '';
}

function objectOf(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function parsePayload(body: string, contentType: string | undefined): Record<string, unknown> {
  let json = body;
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) json = new URLSearchParams(body).get('payload') ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new BadRequestError('INVALID_PAYLOAD', 'the delivery payload is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BadRequestError('INVALID_PAYLOAD', 'the delivery payload is not a JSON object');
  return parsed as Record<string, unknown>;
}
