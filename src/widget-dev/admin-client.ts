import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * How the widget developer commands (`types --server`, `fixtures record`, `session-token`) reach a
 * running Gatehouse: the admin API at `--server` (default GATEHOUSE_URL, else the local service on
 * 127.0.0.1:$PORT or 8080) with the operator token from `--token-file`, GATEHOUSE_ADMIN_TOKEN, or
 * the token embedded mode keeps in .gatehouse/admin.token (GATEHOUSE_HOME).
 */

export const ADMIN_OPTIONS = {
  server: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

export const ADMIN_HELP = `  --server URL       the Gatehouse to use (default $GATEHOUSE_URL, else http://127.0.0.1:$PORT or :8080)
  --token-file FILE  file holding the admin token (default $GATEHOUSE_ADMIN_TOKEN, else
                     .gatehouse/admin.token as written by embedded mode)
`;

export class AdminClientError extends Error {}

export interface AdminAnswer {
  status: number;
  body: any;
  headers: Headers;
}

export interface AdminClient {
  server: string;
  call(method: string, path: string, body?: unknown): Promise<AdminAnswer>;
}

export function adminClient(values: { server?: string | undefined; 'token-file'?: string | undefined }, env: NodeJS.ProcessEnv = process.env): AdminClient {
  const server = (values.server ?? env.GATEHOUSE_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`).replace(/\/+$/, '');
  try {
    new URL(server);
  } catch {
    throw new AdminClientError(`--server "${server}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  let token: string | undefined;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (err) {
      throw new AdminClientError(`cannot read --token-file: ${(err as Error).message}`);
    }
  } else if (env.GATEHOUSE_ADMIN_TOKEN !== undefined && env.GATEHOUSE_ADMIN_TOKEN !== '') {
    token = env.GATEHOUSE_ADMIN_TOKEN.trim();
  } else {
    const file = join(resolve(env.GATEHOUSE_HOME ?? '.gatehouse'), 'admin.token');
    if (existsSync(file)) token = readFileSync(file, 'utf8').trim();
  }
  if (token === undefined || token === '') {
    throw new AdminClientError('no admin token: set GATEHOUSE_ADMIN_TOKEN or pass --token-file FILE (embedded mode writes it to .gatehouse/admin.token)');
  }
  const authorization = `Bearer ${token}`;
  return {
    server,
    async call(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${server}/admin/v1${path}`, {
          method,
          headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new AdminClientError(`cannot reach Gatehouse at ${server}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is it running? set --server)`);
      }
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text for the message
      }
      // 401: no usable Authorization header; 403 FORBIDDEN: a token, but not this server's.
      const code = (parsed as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (res.status === 401 || (res.status === 403 && code === 'FORBIDDEN')) {
        throw new AdminClientError(`Gatehouse at ${server} refused the admin token (${res.status} ${String(code ?? '')}): check GATEHOUSE_ADMIN_TOKEN or --token-file`.replace(' )', ')'));
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
  };
}

/** The admin API's `{error: {code, message}}`, as one line. */
export function adminErrorText(answer: AdminAnswer): string {
  const e = (answer.body as { error?: { code?: string; message?: string } })?.error;
  return e?.message !== undefined ? `${e.message} (${answer.status} ${e.code ?? ''})`.replace(/ \)$/, ')') : `HTTP ${answer.status}: ${String(answer.body).slice(0, 200)}`;
}
