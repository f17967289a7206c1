import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import type { Config } from '../config.js';
import { createUpstreamDispatcher } from './dispatcher.js';
import { BlockedDestinationError, createAddressGuard, type AddressGuard } from './guard.js';

/** docs/design.md#limits: an upstream body larger than this is refused with 502 UPSTREAM_RESPONSE_TOO_LARGE. */
export const MAX_UPSTREAM_RESPONSE_BYTES = 10 * 1024 * 1024;

export type UpstreamErrorCode = 'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNREACHABLE' | 'UPSTREAM_RESPONSE_TOO_LARGE';

/** Why a call got no usable HTTP answer (the upstream error metric's `kind`). */
export type UpstreamFailureKind = 'timeout' | 'refused' | 'tls' | 'dns' | 'reset' | 'unreachable' | 'too_large';

/** A failure talking to an upstream (or token endpoint). Messages never contain request data. */
export class UpstreamError extends Error {
  readonly kind: UpstreamFailureKind;

  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    readonly timeout = false,
    kind?: UpstreamFailureKind,
  ) {
    super(message);
    this.name = 'UpstreamError';
    this.kind = kind ?? (timeout ? 'timeout' : code === 'UPSTREAM_RESPONSE_TOO_LARGE' ? 'too_large' : 'unreachable');
  }
}

export interface UpstreamRequest {
  url: URL;
  method: string;
  /** Exactly the headers to send; nothing else is added except what undici needs (host, content-length). */
  headers: Record<string, string>;
  body?: Buffer | string | undefined;
}

export interface UpstreamResponse {
  status: number;
  /** Lower-case names, as undici returns them. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface UpstreamClientOptions {
  timeoutMs: number;
  allowHttp: boolean;
  guard: AddressGuard;
  dispatcher: Agent;
}

/**
 * The only way Gatehouse talks to the outside: connector upstreams, composite steps and token
 * endpoints all go through `send`. The cache (engineer E) calls the same client on a miss.
 */
export class UpstreamClient {
  readonly timeoutMs: number;
  private readonly allowHttp: boolean;
  private readonly dispatcher: Agent;

  constructor(options: UpstreamClientOptions) {
    this.timeoutMs = options.timeoutMs;
    this.allowHttp = options.allowHttp;
    this.dispatcher = options.dispatcher;
  }

  static fromConfig(config: Config): UpstreamClient {
    const guard = createAddressGuard(config.upstreamAllowCidrs);
    const dispatcher = createUpstreamDispatcher({ guard, extraCa: config.upstreamCa, timeoutMs: config.upstreamTimeoutMs });
    return new UpstreamClient({ timeoutMs: config.upstreamTimeoutMs, allowHttp: config.upstreamAllowHttp, guard, dispatcher });
  }

  /**
   * Parses a rendered URL and applies the scheme rule; throws BlockedDestinationError. The address
   * rule is applied at connect time (see dispatcher.ts), on the address actually used.
   */
  parseUrl(raw: string, what = 'upstream URL'): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new BlockedDestinationError(`the resolved ${what} is not a valid absolute URL (an unresolved variable or secret leaves its template text in place)`);
    }
    if (url.protocol === 'https:') return url;
    if (url.protocol === 'http:' && this.allowHttp) return url;
    throw new BlockedDestinationError(
      url.protocol === 'http:'
        ? `the resolved ${what} uses http://; only https:// is allowed (set UPSTREAM_ALLOW_HTTP=true for tests or on-prem)`
        : `the resolved ${what} uses ${url.protocol}//; only https:// is allowed`,
    );
  }

  async send(request: UpstreamRequest, maxBytes = MAX_UPSTREAM_RESPONSE_BYTES): Promise<UpstreamResponse> {
    // undici accepts an EventEmitter as the abort signal; an AbortController costs several µs more
    // per request, and this runs on every upstream call.
    const deadline = new Deadline();
    // One deadline for connect + headers + body: a slow-drip body cannot hold a request forever.
    const timer = setTimeout(() => deadline.expire(), this.timeoutMs);
    let response: Dispatcher.ResponseData | undefined;
    try {
      response = await this.dispatcher.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ?? null,
        signal: deadline,
      });
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        response.body.destroy();
        throw new UpstreamError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream response is larger than ${maxBytes} bytes`);
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        body: await readBody(response.body, maxBytes),
      };
    } catch (err) {
      if (err instanceof UpstreamError || err instanceof BlockedDestinationError) throw err;
      if (deadline.aborted) throw new UpstreamError('UPSTREAM_TIMEOUT', `the upstream did not answer within ${this.timeoutMs} ms`, true);
      const e = err as NodeJS.ErrnoException & { cause?: unknown };
      if (e.cause instanceof BlockedDestinationError) throw e.cause;
      if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
        throw new UpstreamError('UPSTREAM_TIMEOUT', `the upstream did not answer within ${this.timeoutMs} ms`, true);
      }
      throw new UpstreamError('UPSTREAM_UNREACHABLE', describeNetworkError(e), false, networkErrorKind(e));
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** The abort signal of one upstream call (the EventEmitter form undici accepts). */
class Deadline extends EventEmitter {
  aborted = false;

  expire(): void {
    this.aborted = true;
    this.emit('abort');
  }
}

/**
 * The whole body, refusing more than `maxBytes` as it streams. Plain 'data'/'end' listeners: an
 * async iterator costs a promise per chunk and noticeably more per request.
 */
function readBody(stream: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(new UpstreamError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream response is larger than ${maxBytes} bytes`));
        stream.destroy();
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    stream.on('error', fail);
    // Destroyed without an error and without 'end': what the async iterator reports as a premature close.
    stream.on('close', () => {
      if (!settled) fail(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

/** The failure kind of a network error (same classification as describeNetworkError). */
export function networkErrorKind(e: NodeJS.ErrnoException): UpstreamFailureKind {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'reset';
    default:
      return describeNetworkError(e).startsWith('TLS') ? 'tls' : 'unreachable';
  }
}

/**
 * OpenSSL's certificate verification results that Node reports as the error code and whose name
 * does not say CERT (an incomplete chain is UNABLE_TO_VERIFY_LEAF_SIGNATURE).
 */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_CRL', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CRL_SIGNATURE_FAILURE', 'CRL_NOT_YET_VALID', 'CRL_HAS_EXPIRED', 'ERROR_IN_CRL_LAST_UPDATE_FIELD', 'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH',
]);

function isTlsCode(code: string): boolean {
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || TLS_VERIFY_CODES.has(code);
}

/** A short, data-free description of a network failure (it ends up in `X-Connector-Timing.error`). */
export function describeNetworkError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Host not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'Connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'Host unreachable';
    default:
      if (typeof e.code === 'string' && isTlsCode(e.code)) {
        return `TLS handshake failed (${e.code})`;
      }
      return e.code !== undefined ? `Network error (${e.code})` : 'Network error';
  }
}
