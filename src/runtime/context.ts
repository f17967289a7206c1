import type { IncomingHttpHeaders } from 'node:http';
import type { AppliedAuth, OutboundAuth, ResolvedAuth } from '../auth/outbound.js';
import type { SessionUser, SessionVerifier } from '../auth/session.js';
import type { Logger } from '../logger.js';
import type { CompiledConnector, CompiledSimple } from '../registry/compile.js';
import type { UpstreamClient, UpstreamResponse } from '../upstream/client.js';
import type { StepRef } from './errors.js';
import type { RateLimiter } from './rate-limit.js';
import type { CacheOutcome, Timing } from './timing.js';
import type { CacheKeys } from '../upstream/cache/key.js';
import type { CallTrace } from '../observability/tracing.js';
import type { RepeatedRequest } from './repeated-request.js';

/** The long-lived parts the stages use (one set per process). */
export interface RuntimeDeps {
  log: Logger;
  upstream: UpstreamClient;
  auth: OutboundAuth;
  sessions: SessionVerifier;
  tenants: {
    get(tenant: string): Promise<RuntimeTenant | undefined>;
    /** What `get` would answer when already in memory (no promise); undefined when only `get` can tell. */
    held?(tenant: string): { tenant: RuntimeTenant | undefined } | undefined;
  };
  /** The compiled connectors (the registry view keeps no stored definitions for the request path). */
  connectors: {
    get(tenant: string, permalink: string): Promise<{ compiled: CompiledConnector } | undefined>;
    /** What `get` would answer when already in memory (no promise); undefined when only `get` can tell. */
    held?(tenant: string, permalink: string): { entry: { compiled: CompiledConnector } | undefined } | undefined;
  };
  values: {
    resolve(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Promise<TemplateValues>;
    /** The values when already in memory (no promise). */
    held?(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): TemplateValues | undefined;
  };
  /** The response cache; absent → every request is BYPASS. */
  cache: CacheSlot | undefined;
  rateLimiter: RateLimiter;
  /** Told of every stage the pipeline runs, with its duration (metrics, tracing); usually empty. */
  stageObservers: StageObserver[];
}

/** A stage about to run, as observers see it (src/runtime/pipeline.ts declares the stages). */
export interface StageStart {
  call: Call;
  stage: string;
  /** The composite step the stage runs for. */
  step: StepRef | undefined;
}

/** One stage run, as observers see it when it ended. */
export interface StageEvent {
  stage: string;
  /** The composite step the stage ran for. */
  step: StepRef | undefined;
  tenant: string;
  permalink: string;
  /** Wall time of the stage, waiting included. */
  ms: number;
  /** The stage failed (its error becomes the answer). */
  failed: boolean;
  /** What the stage threw, when it failed. */
  error: unknown;
  /** The stage returned a promise (it waited for Redis, a token or JWKS endpoint, the upstream …). */
  waited: boolean;
  call: Call;
}

/** Ends the watch of one stage: whether it failed (and with what), and whether it waited for a promise. */
export type StageEnd = (failed: boolean, error: unknown, waited: boolean) => void;

/**
 * Told of every stage when it ended; one with `start` is also told before it runs (tracing opens
 * the stage's span there, so spans made during the stage hang under it).
 */
export interface StageObserver {
  (event: StageEvent): void;
  start?: (start: StageStart) => void;
  /**
   * Whether this observer cares about `call` at all, asked once per call: a call no observer wants
   * runs its stages unwatched (no clock reads, no events) — tracing wants only sampled calls.
   */
  wants?: (call: Call) => boolean;
}

export interface RuntimeTenant {
  id: string;
  session: { alg: 'HS256'; secret: string } | { jwks_url: string } | undefined;
  allowed_origins: string[];
  rate_limit_per_minute?: number;
  rate_limit_per_user_per_minute?: number;
  /** False: outbound requests carry no `traceparent` (default: they do, when tracing is on). */
  trace_propagation?: boolean;
}

/** Secret and variable values a connector's templates read (plaintext only in process memory). */
export interface TemplateValues {
  secrets: ReadonlyMap<string, string>;
  variables: ReadonlyMap<string, string>;
}

export type { CacheKeys } from '../upstream/cache/key.js';

type CacheScopeOf = { tenant: string; permalink: string; revision: string };
type CacheRequestOf = { method: string; url: string; headers: Readonly<Record<string, string>>; body?: Buffer | string | undefined };

/** The cache stage's contract, satisfied by `ResponseCache` (src/upstream/cache). */
export interface CacheSlot {
  /** Counts an execution that skipped the cache (the BYPASS counter of /metrics). */
  noteBypass?(): void;
  /** The keys `fetch` would compute: the prefix of a scope, and the hashes when the request is given (header names lower-case). */
  keysFor?(scope: CacheScopeOf, request?: CacheRequestOf, credentials?: readonly string[]): CacheKeys;
  fetch(input: CacheFetchInput): Promise<CacheFetchResult>;
  /** `fetch`, with an answer this process keeps in memory given without a promise. */
  fetchOrKept?(input: CacheFetchInput): CacheFetchResult | Promise<CacheFetchResult>;
}

interface CacheFetchInput {
  scope: CacheScopeOf;
  request: CacheRequestOf;
  credentials: readonly string[];
  /** From `keysFor` of this scope (and, with hashes, of this exact request). */
  keys?: CacheKeys;
  sensitive?: readonly string[];
  doFetch: (conditional: Record<string, string>) => Promise<{ status: number; headers: UpstreamResponse['headers']; body: Buffer }>;
}

interface CacheFetchResult {
  response: { status: number; headers: UpstreamResponse['headers']; body: Buffer };
  xCache: CacheOutcome;
  cacheMs: number;
  upstreamMs: number;
}

/** What the caller sent, already separated from fastify. Every value here is data, never template (docs/design.md#caller-input-is-data). */
export interface CallerRequest {
  method: string;
  /** Query pairs in the order sent (repeats kept). */
  query: [string, string][];
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
  /** Path parameters: from `X-Path-Params`, or given directly by Test Connection. */
  pathParams: ReadonlyMap<string, string>;
}

/** Test Connection (docs/design.md#test-connection): a given user instead of a session, no cache, a debug record. */
export interface TestOptions {
  user: SessionUser | undefined;
}

/** One execution's input: fixed for the whole call; the stages' values are added by the runner. */
export interface Call {
  deps: RuntimeDeps;
  requestId: string;
  tenantId: string;
  permalink: string;
  kind: 'connector' | 'composite';
  caller: CallerRequest;
  test: TestOptions | undefined;
  /** Test Connection: the tenant (already looked up) and, for an unsaved connector or composite, its compiled form. */
  given: { tenant: RuntimeTenant | undefined; compiled: CompiledConnector | undefined } | undefined;
  /** The call's time buckets (Server-Timing, X-Connector-Timing); an instrument, not a stage value. */
  timing: Timing;
  /** Unix seconds, frozen for the whole request (`now()` in every template). */
  now: number;
  /** The execution's trace (server span, stage spans, outbound spans); undefined when tracing is off. */
  trace?: CallTrace | undefined;
}

export interface IgnoredOverride {
  in: 'query' | 'header' | 'path';
  key: string;
}

/** Test Connection's view of a rendered request: fields that read a secret show their template text. */
export interface ShownRequest {
  url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
}

/** The url, headers and query of one upstream request, rendered (stage `render`). */
export interface RenderedRequest {
  /** The rendered url template, before query parameters are appended. */
  baseUrl: string;
  url: URL;
  /** Query pairs: the value is final (caller literal or rendered template). */
  query: [string, string][];
  /** [name as configured, value] */
  headers: [string, string][];
  /** Values that select a cached answer per user or credential (docs/design.md#http-cache): templated headers, secret/user query values. */
  credentialMaterial: string[];
  /** Only built for Test Connection. */
  shown: ShownRequest | undefined;
  /** Kept for the caller who repeats this request: what later stages made from it the first time. */
  repeated: RepeatedRequest | undefined;
}

/** The request with its authentication applied (stage `outbound-auth`). */
export interface AuthorizedRequest {
  url: URL;
  query: [string, string][];
  headers: [string, string][];
  resolved: ResolvedAuth;
  applied: AppliedAuth | undefined;
  credentialMaterial: string[];
  /** Values from secrets or auth, never to be cached or shown. */
  sensitive: string[];
}

/** What goes out as the request body (stage `request-body`). */
export interface OutgoingBody {
  body: Buffer | string | undefined;
  /** Added when no configured header sets the type. */
  contentType: string | undefined;
  /** Test Connection's `request_body`. */
  shown: string | null;
}

export interface Fetched {
  response: UpstreamResponse;
  xCache: CacheOutcome;
}

export interface Result {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
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
