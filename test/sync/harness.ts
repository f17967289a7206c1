import { expect } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import { startSyncWorkers, type SyncWorkerOptions, type SyncWorkers } from '../../workers/sync-worker.js';
import { GitHubDouble, type DoubleOptions } from '../support/github-double.js';
import { deliver, pushPayload, type DeliveryResult } from '../support/github-double-webhooks.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';

/**
 * A running Gatehouse (API + sync workers, in process) wired to a GitHub double, with helpers to
 * push commits, deliver their webhooks and wait for the resulting syncs. Everything is real:
 * HTTP on loopback, Redis, BullMQ.
 */

export const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';
export const GITHUB_TOKEN = 'ghp_synctests0000000000000000000000000';

export interface Harness {
  double: GitHubDouble;
  svc: TestService;
  workers: SyncWorkers | undefined;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createTenant(id: string): Promise<void>;
  link(tenant: string, repository: string, branch?: string, path?: string): Promise<{ status: number; body: { sync_id: string } & Record<string, unknown> }>;
  /** Commits `files` on `branch` and delivers the signed push webhook. */
  push(repository: string, files: Record<string, string | null>, opts?: { branch?: string; message?: string }): Promise<{ sha: string; delivery: DeliveryResult }>;
  deliverPush(repository: string, before: string | undefined, after: string, opts?: { branch?: string; deliveryId?: string }): Promise<DeliveryResult>;
  waitForSync(id: string, timeoutMs?: number): Promise<SyncRecord>;
  /** The newest sync of a link once it is finished (and nothing is queued or running for it). */
  settle(tenant: string, repository: string, timeoutMs?: number): Promise<SyncRecord>;
  startWorkers(options?: SyncWorkerOptions): Promise<SyncWorkers>;
  close(): Promise<void>;
}

export function registry(connectors: unknown[], composites?: unknown[]): string {
  return `${JSON.stringify({ connectors, ...(composites !== undefined ? { composite_connectors: composites } : {}) }, null, 2)}\n`;
}

export function connector(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, url: `https://api.example.com/${encodeURIComponent(name.toLowerCase())}`, ...extra };
}

export async function startHarness(options: { env?: Record<string, string>; double?: DoubleOptions; workers?: SyncWorkerOptions | false } = {}): Promise<Harness> {
  await flushTestRedis();
  const double = await GitHubDouble.start({ tokens: [GITHUB_TOKEN], ...options.double });
  const svc = await startTestService({
    env: {
      GITHUB_API_URL: double.url,
      GITHUB_TOKEN,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      RECONCILE_INTERVAL_S: '0',
      ...options.env,
    },
  });
  svc.services.sync.configure({ retry: { attempts: 4, backoffMs: 50 }, statusRetry: { attempts: 3, backoffMs: 50 }, staleAttempts: 2 });

  const admin = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${svc.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };

  const h: Harness = {
    double,
    svc,
    workers: undefined,
    admin,
    async createTenant(id) {
      const res = await admin('PUT', `/tenants/${id}`, { name: id });
      expect([200, 201]).toContain(res.status);
    },
    async link(tenant, repository, branch = 'main', path) {
      return admin<{ sync_id: string } & Record<string, unknown>>('PUT', `/tenants/${tenant}/repositories/${repository}`, { branch, ...(path !== undefined ? { path } : {}) });
    },
    async push(repository, files, opts = {}) {
      const repo = double.repo(repository);
      const branch = opts.branch ?? repo.defaultBranch;
      const before = repo.head(branch);
      const sha = repo.commit(branch, files, { ...(opts.message !== undefined ? { message: opts.message } : {}) });
      const delivery = await h.deliverPush(repository, before, sha, { branch });
      return { sha, delivery };
    },
    async deliverPush(repository, before, after, opts = {}) {
      const repo = double.repo(repository);
      const payload = pushPayload(double, repo, { branch: opts.branch ?? repo.defaultBranch, before, after });
      return deliver(`${svc.url}/webhooks/github`, { event: 'push', payload, secret: WEBHOOK_SECRET, ...(opts.deliveryId !== undefined ? { deliveryId: opts.deliveryId } : {}) });
    },
    async waitForSync(id, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await svc.services.sync.history.get(id);
        if (r !== undefined && !['queued', 'running'].includes(r.state)) return r;
        if (Date.now() > deadline) throw new Error(`sync ${id} did not finish: ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async settle(tenant, repository, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await svc.services.sync.coordinator.linkState(tenant, repository.toLowerCase());
        const last = await svc.services.sync.lastSync(tenant, repository);
        if (state.pending === undefined && state.running === undefined && last !== null && !['queued', 'running'].includes(last.state)) return last;
        if (Date.now() > deadline) throw new Error(`link ${tenant} ${repository} did not settle: ${JSON.stringify({ state, last })}`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async startWorkers(workerOptions = {}) {
      h.workers = await startSyncWorkers(svc.services, { lockDurationMs: 2000, stalledIntervalMs: 500, ...workerOptions });
      return h.workers;
    },
    async close() {
      await svc.close();
      await double.close();
    },
  };
  if (options.workers !== false) await h.startWorkers(options.workers ?? {});
  return h;
}
