import { performance } from 'node:perf_hooks';

/**
 * The performance headers (docs/cache.md#x-cache-and-timing-headers). `Server-Timing` for browser dev tools; `X-Connector-Timing` as JSON:
 * `{request_id, total_ms, internal_ms, external_ms, breakdown: {setup_ms, transform_ms, cache_ms,
 * http_request_ms}, cache_hit, external_host?, timeout?, error?}` (+ `steps` for composites).
 */

export type CacheOutcome = 'HIT' | 'MISS' | 'REVALIDATED' | 'BYPASS';

const CACHE_DESC: Record<CacheOutcome, string> = {
  HIT: 'Cache Hit',
  REVALIDATED: 'Cache Revalidated',
  MISS: 'Cache Miss',
  BYPASS: 'Cache Bypass',
};

export interface StepTiming {
  name: string;
  index: number;
  total_ms: number;
  external_ms: number;
  status?: number;
  external_host?: string;
}

/**
 * String(Math.round(n * 10) / 10) without the general number-to-text conversion of a fraction (a dozen of these per
 * answer): the whole part and the tenth are formatted as integers. Same text for every value a
 * duration can take; anything unusual goes the general way.
 */
function ms1(n: number): string {
  const tenths = Math.round(n * 10);
  if (!(tenths >= 0 && tenths < 1e14)) return String(tenths / 10);
  const whole = Math.trunc(tenths / 10);
  const tenth = tenths - whole * 10;
  return tenth === 0 ? String(whole) : `${whole}.${tenth}`;
}

/** ms1 for a JSON field (JSON has no NaN or Infinity: null, as JSON.stringify writes them). */
function json1(n: number): string {
  return Number.isFinite(n) ? ms1(n) : 'null';
}

export class Timing {
  readonly start = performance.now();
  setupMs = 0;
  transformMs = 0;
  cacheMs = 0;
  httpMs = 0;
  /** Where the setup phase ends (first template render). */
  private setupOpen = true;
  externalHost: string | undefined;
  timeout = false;
  error: string | undefined;
  steps: StepTiming[] | undefined;

  /** Closes the setup phase: everything from the start until now counts as setup. */
  endSetup(): void {
    if (this.setupOpen) {
      this.setupMs = performance.now() - this.start;
      this.setupOpen = false;
    }
  }

  /** Times `fn` into one of the buckets. */
  async measure<T>(bucket: 'transform' | 'cache' | 'http', fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(bucket, performance.now() - t0);
    }
  }

  measureSync<T>(bucket: 'transform', fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(bucket, performance.now() - t0);
    }
  }

  add(bucket: 'transform' | 'cache' | 'http', ms: number): void {
    if (bucket === 'transform') this.transformMs += ms;
    else if (bucket === 'cache') this.cacheMs += ms;
    else this.httpMs += ms;
  }

  headers(requestId: string, cache: CacheOutcome): { serverTiming: string; connectorTiming: string } {
    this.endSetup();
    const total = performance.now() - this.start;
    const external = this.httpMs;
    let serverTiming = `setup;dur=${ms1(this.setupMs)};desc="Setup", transform;dur=${ms1(this.transformMs)};desc="Template", cache;dur=${ms1(this.cacheMs)};desc="${CACHE_DESC[cache]}"`;
    if (this.steps !== undefined) {
      for (const s of this.steps) serverTiming += `, step.${serverTimingToken(s.name)};dur=${ms1(s.total_ms)};desc="Step: ${quoted(s.name)}"`;
    }
    if (this.externalHost !== undefined || external > 0) {
      serverTiming += `, external;dur=${ms1(external)};desc="${this.timeout ? 'Timeout' : quoted(this.externalHost ?? 'upstream')}"`;
    }
    serverTiming += `, total;dur=${ms1(total)};desc="Total"`;
    // Written out by hand (same bytes as asciiJson of the object, in this key order): this header is
    // on every answer, and building an object to stringify it was a visible share of a cache hit.
    let json =
      `{"request_id":${jsonString(requestId)},"total_ms":${json1(total)},"internal_ms":${json1(Math.max(0, total - external))},` +
      `"external_ms":${json1(external)},"breakdown":{"setup_ms":${json1(this.setupMs)},"transform_ms":${json1(this.transformMs)},` +
      `"cache_ms":${json1(this.cacheMs)},"http_request_ms":${json1(this.httpMs)}},"cache_hit":${cache === 'HIT' || cache === 'REVALIDATED'}`;
    if (this.externalHost !== undefined) json += `,"external_host":${jsonString(this.externalHost)}`;
    if (this.timeout) json += ',"timeout":true';
    if (this.error !== undefined) json += `,"error":${jsonString(this.error)}`;
    if (this.steps !== undefined) json += `,"steps":${stepsJson(this.steps)}`;
    return { serverTiming, connectorTiming: `${json}}` };
  }
}

/**
 * The composite's steps as ASCII JSON, durations to a tenth of a millisecond: the same bytes as
 * asciiJson of each step with its durations rounded (fields in the step's own order, absent ones
 * left out), written out by hand — stringifying copies of the steps was a visible share of a
 * composite's CPU.
 */
function stepsJson(steps: readonly StepTiming[]): string {
  let json = '[';
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    let fields = '';
    for (const key in step) {
      const value: unknown = step[key as keyof StepTiming];
      let text: string;
      if (value === undefined) continue;
      if (key === 'total_ms' || key === 'external_ms') text = json1(value as number);
      else if (typeof value === 'string') text = jsonString(value);
      else if (typeof value === 'number') text = Number.isFinite(value) ? String(value) : 'null';
      else text = asciiJson(value);
      fields += `${fields === '' ? '' : ','}${jsonString(key)}:${text}`;
    }
    json += `${i === 0 ? '' : ','}{${fields}}`;
  }
  return `${json}]`;
}

/** A string as ASCII JSON (what asciiJson would write for it). */
function jsonString(text: string): string {
  // Request ids and host names need no escaping at all: checked with a loop, which for these short
  // strings is cheaper than a regular expression plus JSON.stringify.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return asciiJson(text);
  }
  return `"${text}"`;
}

/** docs/design.md#x-cache: host, with `:port` only when it is not the scheme's default (URL.host already does that). */
export function externalHost(url: URL): string {
  return url.host;
}

function serverTimingToken(name: string): string {
  return name.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]/g, '_');
}

const UNQUOTABLE = /["\\]|[^\x20-\x7e]/;

function quoted(text: string): string {
  // Host names almost never need it: one test instead of two replacements on every answer.
  return UNQUOTABLE.test(text) ? text.replace(/["\\]/g, '').replace(/[^\x20-\x7e]/g, '?') : text;
}

/** JSON that is safe as an HTTP header value: non-ASCII escaped as \uXXXX. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
