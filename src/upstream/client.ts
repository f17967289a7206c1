import type { Agent, Dispatcher } from 'undici';
import { util } from 'undici';
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

  /**
   * One request through the dispatcher with a handler of our own (`dispatch`), not `request()`:
   * the answer is collected straight into a Buffer, without the Readable body stream, the async
   * resource and the abort-signal listener `request()` creates per call — a visible part of what a
   * cache miss costs. One deadline covers connect, headers and body: a slow-drip body cannot hold a
   * request forever.
   */
  send(request: UpstreamRequest, maxBytes = MAX_UPSTREAM_RESPONSE_BYTES): Promise<UpstreamResponse> {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const exchange = new Exchange(resolve, reject, maxBytes, this.timeoutMs);
      this.dispatcher.dispatch(
        {
          origin: request.url.origin,
          path: `${request.url.pathname}${request.url.search}`,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
          body: request.body ?? null,
        },
        exchange,
      );
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

type Abort = (err?: Error) => void;

/**
 * The dispatch handler of one upstream call: keeps the answer's chunks, refuses more than
 * `maxBytes` (declared or streamed), and settles its promise exactly once — with the answer, or
 * with the failure as an UpstreamError (or the guard's BlockedDestinationError).
 */
class Exchange implements Dispatcher.DispatchHandler {
  private abort: Abort | undefined;
  private expired = false;
  private settled = false;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (res: UpstreamResponse) => void,
    private readonly reject: (err: Error) => void,
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.expire(), timeoutMs);
  }

  private expire(): void {
    this.expired = true;
    // Before the request left the pool's queue there is nothing to abort yet: onConnect does it.
    this.abort?.(new RequestAborted());
  }

  onConnect(abort: Abort): void {
    if (this.expired) abort(new RequestAborted());
    else this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, _statusText: string): boolean {
    // 1xx informational answers are not the response.
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = util.parseHeaders(rawHeaders) as Record<string, string | string[] | undefined>;
    const declared = Number(this.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) this.abort!(tooLarge(this.maxBytes));
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.abort!(tooLarge(this.maxBytes));
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const { chunks } = this;
    this.resolve({ status: this.status, headers: this.headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size) });
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(this.failure(err));
  }

  private failure(err: Error): Error {
    if (err instanceof UpstreamError || err instanceof BlockedDestinationError) return err;
    if (this.expired) return new UpstreamError('UPSTREAM_TIMEOUT', `the upstream did not answer within ${this.timeoutMs} ms`, true);
    const e = err as NodeJS.ErrnoException & { cause?: unknown };
    if (e.cause instanceof BlockedDestinationError) return e.cause;
    if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new UpstreamError('UPSTREAM_TIMEOUT', `the upstream did not answer within ${this.timeoutMs} ms`, true);
    }
    return new UpstreamError('UPSTREAM_UNREACHABLE', describeNetworkError(e), false, networkErrorKind(e));
  }
}

/** What the deadline aborts a request with (mapped to UPSTREAM_TIMEOUT; never reaches a caller). */
class RequestAborted extends Error {
  constructor() {
    super('the upstream deadline passed');
    this.name = 'RequestAborted';
  }
}

function tooLarge(maxBytes: number): UpstreamError {
  return new UpstreamError('UPSTREAM_RESPONSE_TOO_LARGE', `the upstream response is larger than ${maxBytes} bytes`);
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
