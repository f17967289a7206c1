import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { adminErrorBody } from './error-handler.js';
import { matchesEtag } from './ui.js';

/**
 * The widget client (sdk/, built into sdk/dist by `npm run build`), served from the host widgets
 * call: `/sdk/connectors.js` (ES module) and `/sdk/connectors.iife.js` (classic script setting
 * `window.GatehouseConnectors`). Read once at startup. The files are public code loaded by pages
 * of other origins (a module script needs CORS), so any origin may read them.
 */

const FILES = ['connectors.js', 'connectors.iife.js'] as const;

const HEADERS: Record<string, string> = {
  'content-type': 'text/javascript; charset=utf-8',
  // Short freshness, then revalidation by ETag: the URLs carry no version, a release must show up.
  'cache-control': 'public, max-age=300',
  'access-control-allow-origin': '*',
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
};

interface SdkFile {
  body: Buffer;
  etag: string;
}

/** `sdk/dist` of the repository, found from src/ (tsx, vitest) or dist/src/ (compiled). */
export function defaultSdkRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'sdk', 'dist');
    if (existsSync(join(candidate, FILES[0]))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export const sdkRoutes = (options: { root?: string } = {}): FastifyPluginAsync =>
  async (app) => {
    const root = options.root ?? defaultSdkRoot();
    const files = new Map<string, SdkFile>();
    for (const name of FILES) {
      if (root === undefined || !existsSync(join(root, name))) continue;
      const body = await readFile(join(root, name));
      files.set(name, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
    if (files.size < FILES.length) app.log.warn({ root: root ?? null }, 'widget client not built (sdk/dist): /sdk/ answers 404; run npm run build');

    for (const name of FILES) {
      app.get(`/sdk/${name}`, { logLevel: 'warn' }, async (request, reply) => {
        const file = files.get(name);
        if (file === undefined) {
          return reply.code(404).send(adminErrorBody('NOT_FOUND', `the widget client is not built (sdk/dist/${name} is missing): run npm run build`));
        }
        reply.headers(HEADERS).header('etag', file.etag);
        if (matchesEtag(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
        return reply.send(file.body);
      });
    }
  };
