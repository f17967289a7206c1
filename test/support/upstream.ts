import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCerts } from './certs.js';

/** One request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Raw header pairs in wire order, to prove what was (not) sent. */
  rawHeaders: string[];
  body: Buffer;
}

export type UpstreamHandler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

export interface TestUpstream {
  /** e.g. http://127.0.0.1:40000 or https://localhost:40001 */
  url: string;
  port: number;
  requests: SeenRequest[];
  /** Route by path; unmatched paths echo the request as JSON. */
  route(path: string, handler: UpstreamHandler): void;
  reset(): void;
  close(): Promise<void>;
}

/** Echoes what it received: the default answer of every test upstream. */
export const echo: UpstreamHandler = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      method: req.method,
      path: req.path,
      query: Object.fromEntries(req.query),
      headers: req.headers,
      body: req.body.toString('utf8'),
    }),
  );
};

/** A real HTTP(S) server on 127.0.0.1 that records every request. */
export async function startUpstream(options: { tls?: TestCerts; host?: string } = {}): Promise<TestUpstream> {
  const requests: SeenRequest[] = [];
  const routes = new Map<string, UpstreamHandler>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://upstream');
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(seen);
      const handler = routes.get(u.pathname) ?? echo;
      Promise.resolve(handler(seen, res)).catch((err: Error) => {
        res.writeHead(500);
        res.end(err.message);
      });
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  server.keepAliveTimeout = 5000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? 'https' : 'http';
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${scheme}://${urlHost}:${port}`,
    port,
    requests,
    route(path, handler) {
      routes.set(path, handler);
    },
    reset() {
      requests.length = 0;
      routes.clear();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * `/ok` (200, cacheable for 60 s) and `/boom` (503): the two answers the traffic tests count
 * (cache MISS then HITs; upstream 5xx).
 */
export function routeOkAndBoom(up: TestUpstream): void {
  up.route('/ok', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end('{"ok":true}');
  });
  up.route('/boom', (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"ok":false}');
  });
}
