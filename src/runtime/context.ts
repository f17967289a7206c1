import type { IncomingHttpHeaders } from 'node:http';
import type { AppliedAuth, OutboundAuth, ResolvedAuth } from '../auth/outbound.js';
import type { SessionUser, SessionVerifier } from '../auth/session.js';
import type { Logger } from '../logger.js';
import type { CompiledConnector, CompiledRequest, CompiledSimple } from '../registry/compile.js';
import type { StoredConnector } from '../registry/model.js';
import type { UpstreamClient, UpstreamResponse } from '../upstream/client.js';
import type { RateLimiter } from './rate-limit.js';
import type { CacheOutcome, Timing } from './timing.js';

/** The long-lived parts the stages use (one set per process). */
export interface RuntimeDeps {
  log: Logger;
  upstream: UpstreamClient;
  auth: OutboundAuth;
  sessions: SessionVerifier;
  tenants: { get(tenant: string): Promise<RuntimeTenant | undefined> };
  connectors: { get(tenant: string, permalink: string): Promise<{ stored: StoredConnector; compiled: CompiledConnector } | undefined> };
  values: { resolve(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Promise<{ secrets: Map<string, string>; variables: Map<string, string> }> };
  /** The response cache (engineer E); absent → every request is BYPASS. */
  cache: CacheSlot | undefined;
  rateLimiter: RateLimiter;
}

export interface RuntimeTenant {
  id: string;
  session: { alg: 'HS256'; secret: string } | { jwks_url: string } | undefined;
  allowed_origins: string[];
  rate_limit_per_minute?: number;
  rate_limit_per_user_per_minute?: number;
}

/** The cache stage's contract, satisfied by `ResponseCache` (src/upstream/cache). */
export interface CacheSlot {
  /** Counts an execution that skipped the cache (the BYPASS counter of /metrics). */
  noteBypass?(): void;
  fetch(input: {
    scope: { tenant: string; permalink: string; revision: string };
    request: { method: string; url: string; headers: Record<string, string>; body?: Buffer | string | undefined };
    credentials: readonly string[];
    sensitive?: readonly string[];
    doFetch: (conditional: Record<string, string>) => Promise<{ status: number; headers: UpstreamResponse['headers']; body: Buffer }>;
  }): Promise<{ response: { status: number; headers: UpstreamResponse['headers']; body: Buffer }; xCache: CacheOutcome; cacheMs: number; upstreamMs: number }>;
}

/** What the caller sent, already separated from fastify. Every value here is data, never template (docs/design.md#caller-input-is-data). */
export interface CallerRequest {
  method: string;
  /** Query pairs in the order sent (repeats kept). */
  query: [string, string][];
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
  /** Path parameters: from `X-Path-Params`, or given directly by Test Connection. */
  pathParams: Map<string, string>;
}

/** Test Connection (docs/design.md#test-connection): a given user instead of a session, no cache, a debug record. */
export interface TestOptions {
  user: SessionUser | undefined;
}

export interface IgnoredOverride {
  in: 'query' | 'header' | 'path';
  key: string;
}

/** The request being built for one upstream call (a simple connector, or one composite step). */
export interface OutgoingRequest {
  spec: CompiledRequest;
  /** The rendered url template, before query parameters are appended. */
  baseUrl: string;
  url: URL | undefined;
  /** Query pairs: the value is final (caller literal or rendered template). */
  query: [string, string][];
  /** [name as configured, value] */
  headers: [string, string][];
  body: Buffer | string | undefined;
  resolvedAuth: ResolvedAuth | undefined;
  appliedAuth: AppliedAuth | undefined;
  /** Values from secrets or auth, never to be cached or shown. */
  sensitive: string[];
  /** Header values that depend on credentials: part of the cache key (docs/design.md#http-cache). */
  credentialMaterial: string[];
  /** Test Connection's `X-Debug-Request` record; only built for Test Connection. */
  debug: DebugRecord | undefined;
}

export interface DebugRecord {
  url: string | null;
  method: string;
  headers: Record<string, string>;
  query_parameters: Record<string, string>;
  authentication: unknown;
  request_body: string | null;
  response_body: string | null;
  response_content_type: string | null;
  ignored_overrides: IgnoredOverride[];
}

export interface Result {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface ExecContext {
  deps: RuntimeDeps;
  requestId: string;
  tenantId: string;
  permalink: string;
  caller: CallerRequest;
  test: TestOptions | undefined;
  timing: Timing;
  /** Unix seconds, frozen for the whole request (`now()` in every template). */
  now: number;
  tenant: RuntimeTenant | undefined;
  stored: StoredConnector | undefined;
  compiled: CompiledSimple | undefined;
  user: SessionUser | undefined;
  secrets: ReadonlyMap<string, string>;
  variables: ReadonlyMap<string, string>;
  pathParams: Record<string, string>;
  ignored: IgnoredOverride[];
  out: OutgoingRequest | undefined;
  upstream: UpstreamResponse | undefined;
  xCache: CacheOutcome;
  result: Result | undefined;
}
