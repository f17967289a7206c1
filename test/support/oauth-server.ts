import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import OAuth2Server from '@node-oauth/oauth2-server';
import { decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { TestCerts } from './certs.js';

/**
 * A real OAuth 2.0 authorization server (the `@node-oauth/oauth2-server` package) on 127.0.0.1:
 * `POST /token` implements the client-credentials grant and, as an extension grant, RFC 7523
 * jwt-bearer (assertion verified with jose against the client's registered public key).
 * `GET /resource` is a protected resource that answers 401 for unknown/revoked tokens.
 */

export interface OAuthClient {
  id: string;
  secret?: string;
  /** Public key (or HMAC secret) verifying jwt-bearer assertions of this client. */
  assertionKey?: KeyObject | Uint8Array;
  grants: string[];
}

export interface TestOAuthServer {
  url: string;
  tokenUrl: string;
  resourceUrl: string;
  /** Every POST /token, accepted or not, in arrival order (form fields as received). */
  tokenRequests: Record<string, string>[];
  /** The headers of each POST /token, in the same order. */
  tokenRequestHeaders: IncomingMessage['headers'][];
  /** Verified assertions of the jwt-bearer grant. */
  assertions: { header: ProtectedHeaderParameters; payload: JWTPayload }[];
  addClient(client: OAuthClient): void;
  /** Forget every issued token: the resource then answers 401 until a new token is requested. */
  revokeAll(): void;
  /** Delay every token answer (ms), to make concurrent first calls overlap. */
  setTokenDelay(ms: number): void;
  setTokenLifetime(seconds: number): void;
  close(): Promise<void>;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

interface StoredToken {
  accessToken: string;
  accessTokenExpiresAt?: Date;
  scope?: string[] | undefined;
  client: { id: string; grants: string[] };
  user: Record<string, unknown>;
}

export async function startOAuthServer(options: { tls?: TestCerts } = {}): Promise<TestOAuthServer> {
  const clients = new Map<string, OAuthClient>();
  const tokens = new Map<string, StoredToken>();
  const tokenRequests: Record<string, string>[] = [];
  const tokenRequestHeaders: IncomingMessage['headers'][] = [];
  const assertions: { header: ProtectedHeaderParameters; payload: JWTPayload }[] = [];
  let delay = 0;
  let tokenUrl = '';

  const model = {
    async getClient(clientId: string, clientSecret: string | null) {
      const c = clients.get(clientId);
      if (c === undefined) return undefined;
      if (clientSecret !== null && clientSecret !== undefined && c.secret !== clientSecret) return undefined;
      return { id: c.id, grants: c.grants };
    },
    async getUserFromClient(client: { id: string }) {
      return { id: `service:${client.id}` };
    },
    async saveToken(token: StoredToken, client: StoredToken['client'], user: StoredToken['user']) {
      const stored = { ...token, client, user };
      tokens.set(token.accessToken, stored);
      return stored;
    },
    async getAccessToken(accessToken: string) {
      return tokens.get(accessToken);
    },
    async validateScope(_user: unknown, _client: unknown, scope: string[] | undefined) {
      return scope ?? [];
    },
  };

  class JwtBearerGrantType extends OAuth2Server.AbstractGrantType {
    async handle(request: OAuth2Server.Request, client: OAuth2Server.Client): Promise<OAuth2Server.Token> {
      const assertion = request.body.assertion as string | undefined;
      if (typeof assertion !== 'string') throw new OAuth2Server.InvalidRequestError('Missing parameter: `assertion`');
      const registered = clients.get(client.id);
      if (registered?.assertionKey === undefined) throw new OAuth2Server.InvalidClientError('client has no assertion key');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(assertion, registered.assertionKey, {
          issuer: client.id,
          audience: tokenUrl,
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (err) {
        throw new OAuth2Server.InvalidGrantError(`Invalid grant: assertion rejected (${(err as Error).message})`);
      }
      assertions.push({ header: decodeProtectedHeader(assertion), payload });
      const scope = typeof payload.scope === 'string' ? payload.scope.split(' ') : undefined;
      const user = { id: payload.sub };
      const accessToken = await this.generateAccessToken(client, user, scope ?? []);
      const saved = await model.saveToken(
        { accessToken, accessTokenExpiresAt: this.getAccessTokenExpiresAt(), scope, client: client as StoredToken['client'], user },
        client as StoredToken['client'],
        user,
      );
      return saved as unknown as OAuth2Server.Token;
    }
  }

  let lifetime = 3600;
  const makeServer = () =>
    new OAuth2Server({
      model: model as unknown as OAuth2Server.ClientCredentialsModel,
      accessTokenLifetime: lifetime,
      allowBearerTokensInQueryString: false,
      requireClientAuthentication: { [JWT_BEARER]: false },
      extendedGrantTypes: { [JWT_BEARER]: JwtBearerGrantType as unknown as typeof OAuth2Server.AbstractGrantType },
    });
  let oauth = makeServer();

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://oauth');
        const text = Buffer.concat(chunks).toString('utf8');
        const body = Object.fromEntries(new URLSearchParams(text));
        const response = new OAuth2Server.Response();
        try {
          if (req.method === 'POST' && u.pathname === '/token') {
            tokenRequests.push({ ...body });
            tokenRequestHeaders.push(req.headers);
            if (delay > 0) await new Promise((r) => setTimeout(r, delay));
            // RFC 7523 sends no client_id: the assertion's `iss` names the client (verified in the grant).
            if (body.grant_type === JWT_BEARER && body.client_id === undefined && body.assertion !== undefined) {
              try {
                const iss = decodeJwt(body.assertion).iss;
                if (typeof iss === 'string') body.client_id = iss;
              } catch {
                /* the grant rejects the malformed assertion */
              }
            }
            const request = new OAuth2Server.Request({ method: req.method, headers: req.headers as Record<string, string>, query: Object.fromEntries(u.searchParams), body });
            await oauth.token(request, response);
          } else if (u.pathname === '/resource') {
            const request = new OAuth2Server.Request({ method: req.method ?? 'GET', headers: req.headers as Record<string, string>, query: {}, body: {} });
            const token = await oauth.authenticate(request, response);
            response.status = 200;
            response.body = { ok: true, client: (token.client as { id: string }).id, user: token.user, path: u.pathname };
          } else {
            response.status = 404;
            response.body = { error: 'not_found' };
          }
        } catch (err) {
          const e = err as { code?: number; name?: string; message: string };
          response.status = e.code ?? 500;
          response.body = { error: e.name ?? 'server_error', error_description: e.message };
        }
        res.writeHead(response.status ?? 200, { 'content-type': 'application/json', ...(response.headers as Record<string, string>) });
        res.end(JSON.stringify(response.body ?? {}));
      })();
    });
  };

  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  tokenUrl = `${url}/token`;
  return {
    url,
    tokenUrl,
    resourceUrl: `${url}/resource`,
    tokenRequests,
    tokenRequestHeaders,
    assertions,
    addClient(client) {
      clients.set(client.id, client);
    },
    revokeAll() {
      tokens.clear();
    },
    setTokenDelay(ms) {
      delay = ms;
    },
    setTokenLifetime(seconds) {
      lifetime = seconds;
      oauth = makeServer();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
