import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseRedisUrl } from './redis/connection.js';

/**
 * The one place that reads the environment (README.md#configuration). Everything else receives a `Config`.
 * Problems are collected and reported together so an operator fixes them in one go.
 */

export type Role = 'api' | 'worker' | 'all';

export interface Config {
  nodeEnv: string;
  production: boolean;
  host: string;
  port: number;
  /** Undefined means "decide at start": use 127.0.0.1:6379 if it answers, else start an embedded redis-server. */
  redisUrl: string | undefined;
  /** Undefined means "same as redisUrl". */
  cacheRedisUrl: string | undefined;
  masterKey: Buffer;
  masterKeySource: 'env' | 'file';
  adminToken: string;
  adminTokenSource: 'env' | 'file';
  /** Directory for embedded-mode state: generated keys and the private redis-server's data. */
  homeDir: string;
  /**
   * Where embedded mode looks for a running Redis before starting its own (GATEHOUSE_EMBEDDED_PROBE,
   * default 127.0.0.1:6379). Tests point it at a port where nothing listens.
   */
  embeddedProbe?: { host: string; port: number };
  githubApiUrl: string;
  githubWebhookSecrets: string[];
  githubToken: string | undefined;
  githubAppId: string | undefined;
  githubAppPrivateKey: string | undefined;
  upstreamTimeoutMs: number;
  upstreamAllowCidrs: Cidr[];
  upstreamAllowHttp: boolean;
  upstreamCaFile: string | undefined;
  upstreamCa: string | undefined;
  /** REDIS_CA_FILE: PEM of the CA(s) that Redis TLS certificates (rediss://…) must chain to, instead of Node's default roots. */
  redisCaFile: string | undefined;
  redisCa: string | undefined;
  reconcileIntervalS: number;
  /** Audit entries kept per tenant (AUDIT_MAX_ENTRIES): the oldest go beyond it. */
  auditMaxEntries: number;
  /** Default polling interval of Git links (GIT_POLL_INTERVAL_S, default 60; 0 = webhooks only). */
  gitPollIntervalS: number;
  /** X-Gitlab-Token values accepted on /webhooks/gitlab (GITLAB_WEBHOOK_SECRET, comma-separated for rotation). */
  gitlabWebhookSecrets: string[];
  /** HMAC keys of X-Gitea-Signature / X-Forgejo-Signature (GITEA_WEBHOOK_SECRET, comma-separated). */
  giteaWebhookSecrets: string[];
  logLevel: string;
  /** LOG_REQUESTS: which executions get a one-line request log (errors = status ≥ 400). */
  logRequests: 'errors' | 'all' | 'none';
  /** METRICS_MAX_CONNECTOR_SERIES: distinct tenant/connector label pairs before `connector="other"`. */
  metricsMaxConnectorSeries: number;
  /** METRICS_EXECUTE: per-execution metrics and usage buckets (on by default; off only to measure their cost). */
  metricsExecute: boolean;
  /** OpenTelemetry tracing from the standard OTEL_* variables; undefined = tracing off. */
  tracing: TracingConfig | undefined;
  /**
   * PUBLIC_URL: the absolute address users reach this service at (no trailing slash), e.g.
   * `https://gatehouse.example.com`. Links sent elsewhere (commit statuses, check runs, the
   * registry schema's `$id`) are built on it; unset, no such link is sent.
   */
  publicUrl: string | undefined;
}

export interface TracingConfig {
  /** Where spans go: OTLP/HTTP to `url` (…/v1/traces), or `console` (each span printed on stdout, for debugging). */
  exporter: { kind: 'otlp'; url: string } | { kind: 'console' };
  serviceName: string;
  /** Fraction of new traces sampled. */
  sampleRatio: number;
  /** parentbased_* samplers: a caller's `traceparent` decides for its trace; the ratio applies to new traces only. */
  parentBased: boolean;
  /** OTEL_BSP_MAX_QUEUE_SIZE: finished spans waiting for export; past it spans are dropped (and counted). */
  maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per export request (at most maxQueueSize). */
  maxExportBatchSize: number;
  /** OTEL_BSP_SCHEDULE_DELAY: how long finished spans wait before a batch is sent. */
  scheduleDelayMs: number;
  /** OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / OTEL_EXPORTER_OTLP_TIMEOUT: one export's time limit. */
  exportTimeoutMs: number;
  /**
   * TRACE_STAGE_SPANS: which pipeline stages of a sampled execution get a span of their own.
   * `io` (default): a stage that waited (Redis, a JWKS or token endpoint, the upstream), made an
   * outbound request, took 1 ms or more, or failed; every stage's duration is on the execute span
   * either way. `all`: every stage, ~20 spans per execution (several times the CPU per trace).
   */
  stageSpans: 'io' | 'all';
}

export interface Cidr {
  /** The CIDR as written, e.g. `127.0.0.0/8`. */
  text: string;
  family: 4 | 6;
  address: string;
  prefix: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const nodeEnv = env.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const homeDir = resolve(env.GATEHOUSE_HOME ?? '.gatehouse');

  const port = intVar(env, 'PORT', 8080, 0, 65535, problems);
  const host = env.HOST ?? '127.0.0.1';
  if (host.trim() === '') problems.push('HOST: must not be empty (use 0.0.0.0 to listen on every interface)');

  const redisUrl = redisUrlVar(env, 'REDIS_URL', problems);
  const embeddedProbe = probeVar(env, 'GATEHOUSE_EMBEDDED_PROBE', problems);
  const cacheRedisUrl = redisUrlVar(env, 'CACHE_REDIS_URL', problems);

  const master = readMasterKey(env, production, homeDir, problems);
  const admin = readAdminToken(env, production, homeDir, problems);

  const githubApiUrl = (urlVar(env, 'GITHUB_API_URL', ['https:', 'http:'], problems) ?? 'https://api.github.com').replace(/\/+$/, '');
  // A comma-separated list lets an operator rotate the webhook secret: add the new one, update GitHub, drop the old one.
  const githubWebhookSecrets = (env.GITHUB_WEBHOOK_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

  const githubToken = nonEmpty(env.GITHUB_TOKEN);
  const githubAppId = nonEmpty(env.GITHUB_APP_ID);
  let githubAppPrivateKey = nonEmpty(env.GITHUB_APP_PRIVATE_KEY)?.replace(/\\n/g, '\n');
  const keyFile = nonEmpty(env.GITHUB_APP_PRIVATE_KEY_FILE);
  if (keyFile !== undefined) {
    try {
      githubAppPrivateKey = readFileSync(keyFile, 'utf8');
    } catch (err) {
      problems.push(`GITHUB_APP_PRIVATE_KEY_FILE: cannot read ${keyFile} (${(err as Error).message})`);
    }
  }
  if (githubAppId !== undefined && githubAppPrivateKey === undefined) {
    problems.push('GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY / GITHUB_APP_PRIVATE_KEY_FILE is not: set the GitHub App private key (PEM)');
  }
  if (githubAppId === undefined && githubAppPrivateKey !== undefined) {
    problems.push('GITHUB_APP_PRIVATE_KEY is set but GITHUB_APP_ID is not: set the GitHub App id');
  }

  const upstreamTimeoutMs = intVar(env, 'UPSTREAM_TIMEOUT_MS', 15000, 1, 600000, problems);
  const upstreamAllowCidrs = parseCidrList(env.UPSTREAM_ALLOW_CIDRS ?? '', problems);
  const upstreamAllowHttp = boolVar(env, 'UPSTREAM_ALLOW_HTTP', false, problems);
  const upstreamCaFile = nonEmpty(env.UPSTREAM_CA_FILE);
  const upstreamCa = pemCertificateFile(upstreamCaFile, 'UPSTREAM_CA_FILE', problems);
  const redisCaFile = nonEmpty(env.REDIS_CA_FILE);
  const redisCa = pemCertificateFile(redisCaFile, 'REDIS_CA_FILE', problems);
  if (redisCaFile !== undefined && ![redisUrl, cacheRedisUrl].some((u) => u?.startsWith('rediss'))) {
    problems.push('REDIS_CA_FILE is set but neither REDIS_URL nor CACHE_REDIS_URL uses TLS: use rediss://, rediss+sentinel:// or rediss+cluster://, or unset REDIS_CA_FILE');
  }
  const reconcileIntervalS = intVar(env, 'RECONCILE_INTERVAL_S', 300, 0, 86400 * 7, problems);
  const auditMaxEntries = intVar(env, 'AUDIT_MAX_ENTRIES', 10_000, 100, 10_000_000, problems);
  const gitPollIntervalS = intVar(env, 'GIT_POLL_INTERVAL_S', 60, 0, 86400, problems);
  const secretList = (name: string) => (env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const gitlabWebhookSecrets = secretList('GITLAB_WEBHOOK_SECRET');
  const giteaWebhookSecrets = secretList('GITEA_WEBHOOK_SECRET');
  const publicUrl = publicUrlVar(env, problems);
  const logLevel = (env.LOG_LEVEL ?? 'info').toLowerCase();
  if (!LOG_LEVELS.has(logLevel)) problems.push(`LOG_LEVEL: "${env.LOG_LEVEL}" is not one of ${[...LOG_LEVELS].join(', ')}`);

  const logRequests = (nonEmpty(env.LOG_REQUESTS)?.trim().toLowerCase() ?? 'errors') as Config['logRequests'];
  if (!['errors', 'all', 'none'].includes(logRequests)) problems.push(`LOG_REQUESTS: "${env.LOG_REQUESTS}" is not one of errors, all, none`);
  const metricsMaxConnectorSeries = intVar(env, 'METRICS_MAX_CONNECTOR_SERIES', 2000, 1, 1_000_000, problems);
  const metricsExecute = boolVar(env, 'METRICS_EXECUTE', true, problems);
  const tracing = tracingVars(env, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv,
    production,
    host,
    port,
    redisUrl,
    cacheRedisUrl,
    masterKey: master!.key,
    masterKeySource: master!.source,
    adminToken: admin!.token,
    adminTokenSource: admin!.source,
    homeDir,
    embeddedProbe,
    githubApiUrl,
    githubWebhookSecrets,
    githubToken,
    githubAppId,
    githubAppPrivateKey,
    upstreamTimeoutMs,
    upstreamAllowCidrs,
    upstreamAllowHttp,
    upstreamCaFile,
    upstreamCa,
    redisCaFile,
    redisCa,
    reconcileIntervalS,
    auditMaxEntries,
    gitPollIntervalS,
    gitlabWebhookSecrets,
    giteaWebhookSecrets,
    logLevel,
    logRequests,
    metricsMaxConnectorSeries,
    metricsExecute,
    tracing,
    publicUrl,
  };
}

/** Spans per export request by default: the standard's 512. */
const DEFAULT_EXPORT_BATCH_SIZE = 512;

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/**
 * The standard OpenTelemetry variables: tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, or OTEL_TRACES_EXPORTER names an exporter (otlp,
 * console); OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turn it off. Headers, timeout
 * and compression of the exporter (OTEL_EXPORTER_OTLP_HEADERS …) are read by the exporter itself.
 */
function tracingVars(env: Env, problems: string[]): TracingConfig | undefined {
  if (boolVar(env, 'OTEL_SDK_DISABLED', false, problems)) return undefined;
  const exporterName = nonEmpty(env.OTEL_TRACES_EXPORTER)?.trim().toLowerCase();
  const base = urlVar(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:'], problems);
  const tracesUrl = urlVar(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:'], problems);
  if (exporterName === 'none') return undefined;
  if (exporterName !== undefined && exporterName !== 'otlp' && exporterName !== 'console') {
    problems.push(`OTEL_TRACES_EXPORTER: "${env.OTEL_TRACES_EXPORTER}" is not supported (use otlp, console or none)`);
    return undefined;
  }
  if (exporterName === undefined && base === undefined && tracesUrl === undefined) return undefined;
  const sampler = (nonEmpty(env.OTEL_TRACES_SAMPLER)?.trim().toLowerCase() ?? 'parentbased_always_on');
  if (!SAMPLERS.includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER: "${env.OTEL_TRACES_SAMPLER}" is not one of ${SAMPLERS.join(', ')}`);
  let sampleRatio = sampler.endsWith('always_off') ? 0 : 1;
  if (sampler.endsWith('traceidratio')) {
    const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG)?.trim() ?? '1';
    sampleRatio = Number(arg);
    if (!/^\d*\.?\d+$/.test(arg) || sampleRatio > 1) {
      problems.push(`OTEL_TRACES_SAMPLER_ARG: "${arg}" is not a ratio between 0 and 1 (e.g. 0.1 for 10%)`);
      sampleRatio = 1;
    }
  }
  const serviceName = nonEmpty(env.OTEL_SERVICE_NAME)?.trim() ?? 'gatehouse';
  const stageSpans = (nonEmpty(env.TRACE_STAGE_SPANS)?.trim().toLowerCase() ?? 'io') as TracingConfig['stageSpans'];
  if (stageSpans !== 'io' && stageSpans !== 'all') problems.push(`TRACE_STAGE_SPANS: "${env.TRACE_STAGE_SPANS}" is not one of io, all`);
  const common = {
    serviceName,
    sampleRatio,
    parentBased: sampler.startsWith('parentbased_'),
    maxQueueSize: intVar(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, 1, 1_000_000, problems),
    maxExportBatchSize: intVar(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULT_EXPORT_BATCH_SIZE, 1, 1_000_000, problems),
    scheduleDelayMs: intVar(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 0, 3_600_000, problems),
    exportTimeoutMs: intVar(env, nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT) !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, 1, 600_000, problems),
    stageSpans,
  };
  if (exporterName === 'console') return { exporter: { kind: 'console' }, ...common };
  // The spec: a signal-specific endpoint is used as is; the base endpoint gets /v1/traces appended.
  const url = tracesUrl ?? (base !== undefined ? `${base.replace(/\/+$/, '')}/v1/traces` : 'http://localhost:4318/v1/traces');
  return { exporter: { kind: 'otlp', url }, ...common };
}

/** An absolute http(s) base without credentials, query or fragment; the trailing `/` is dropped. */
function publicUrlVar(env: Env, problems: string[]): string | undefined {
  const raw = urlVar(env, 'PUBLIC_URL', ['https:', 'http:'], problems);
  if (raw === undefined) return undefined;
  const url = new URL(raw.trim());
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    problems.push('PUBLIC_URL: must be a plain base address such as https://gatehouse.example.com (no credentials, query or fragment)');
    return undefined;
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}

function intVar(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${name}: "${raw}" is not a whole number (expected ${min}–${max})`);
    return def;
  }
  const n = Number(raw.trim());
  if (n < min || n > max) {
    problems.push(`${name}: ${n} is out of range (expected ${min}–${max})`);
    return def;
  }
  return n;
}

function boolVar(env: Env, name: string, def: boolean, problems: string[]): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return def;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  problems.push(`${name}: "${raw}" is not a boolean (use true or false)`);
  return def;
}

function probeVar(env: Env, name: string, problems: string[]): { host: string; port: number } {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return { host: '127.0.0.1', port: 6379 };
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(raw.trim());
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    problems.push(`${name}: "${raw}" is not host:port (e.g. 127.0.0.1:6379)`);
    return { host: '127.0.0.1', port: 6379 };
  }
  return { host: m[1]!, port: Number(m[2]) };
}

function redisUrlVar(env: Env, name: string, problems: string[]): string | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  try {
    parseRedisUrl(raw.trim());
    return raw.trim();
  } catch (err) {
    problems.push(`${name}: "${redactUrl(raw)}" ${(err as Error).message}`);
    return undefined;
  }
}

function urlVar(env: Env, name: string, protocols: string[], problems: string[]): string | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${name}: "${redactUrl(raw)}" is not a URL (expected e.g. ${protocols[0]}//host:port)`);
    return undefined;
  }
  if (!protocols.includes(url.protocol)) {
    problems.push(`${name}: scheme "${url.protocol}" is not supported (use one of ${protocols.join(' ')})`);
    return undefined;
  }
  return raw;
}

/** Hides the password of a URL so configuration errors can be printed safely. */
export function redactUrl(raw: string): string {
  return raw.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

function ensureHome(homeDir: string): void {
  if (!existsSync(homeDir)) mkdirSync(homeDir, { recursive: true, mode: 0o700 });
}

/** Reads a generated value from `file`, or creates it (mode 0600) with `make()`. */
function readOrCreate(file: string, make: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

function readMasterKey(env: Env, production: boolean, homeDir: string, problems: string[]): { key: Buffer; source: 'env' | 'file' } | undefined {
  const raw = nonEmpty(env.GATEHOUSE_MASTER_KEY);
  if (raw !== undefined) {
    const key = decodeMasterKey(raw);
    if (key === undefined) {
      problems.push('GATEHOUSE_MASTER_KEY: must be base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)');
      return undefined;
    }
    return { key, source: 'env' };
  }
  if (production) {
    problems.push('GATEHOUSE_MASTER_KEY: required when NODE_ENV=production (generate one with: openssl rand -base64 32)');
    return undefined;
  }
  ensureHome(homeDir);
  const file = join(homeDir, 'master.key');
  const key = decodeMasterKey(readOrCreate(file, () => randomBytes(32).toString('base64')));
  if (key === undefined) {
    problems.push(`GATEHOUSE_MASTER_KEY: ${file} does not hold base64 of 32 bytes; restore it from a backup, or set GATEHOUSE_MASTER_KEY`);
    return undefined;
  }
  return { key, source: 'file' };
}

export function decodeMasterKey(raw: string): Buffer | undefined {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length === 32 ? key : undefined;
}

function readAdminToken(env: Env, production: boolean, homeDir: string, problems: string[]): { token: string; source: 'env' | 'file' } | undefined {
  const raw = nonEmpty(env.GATEHOUSE_ADMIN_TOKEN);
  if (raw !== undefined) {
    if (raw.trim().length < 16) {
      problems.push('GATEHOUSE_ADMIN_TOKEN: must be at least 16 characters (generate one with: openssl rand -hex 32)');
      return undefined;
    }
    return { token: raw.trim(), source: 'env' };
  }
  if (production) {
    problems.push('GATEHOUSE_ADMIN_TOKEN: required when NODE_ENV=production (generate one with: openssl rand -hex 32)');
    return undefined;
  }
  ensureHome(homeDir);
  const token = readOrCreate(join(homeDir, 'admin.token'), () => randomBytes(32).toString('hex'));
  return { token, source: 'file' };
}

export function parseCidrList(raw: string, problems: string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const part of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const cidr = parseCidr(part);
    if (cidr === undefined) problems.push(`UPSTREAM_ALLOW_CIDRS: "${part}" is not a CIDR (expected e.g. 127.0.0.0/8 or ::1/128)`);
    else out.push(cidr);
  }
  return out;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText, extra] = text.split('/');
  if (address === undefined || extra !== undefined) return undefined;
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d+$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { text, family, address, prefix };
}

/** The text of a PEM certificate file named by `name`, or a problem saying why it cannot be used. */
function pemCertificateFile(file: string | undefined, name: string, problems: string[]): string | undefined {
  if (file === undefined) return undefined;
  try {
    const pem = readFileSync(file, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${name}: ${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
    return pem;
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as Error).message})`);
    return undefined;
  }
}
