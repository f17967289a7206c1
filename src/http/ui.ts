import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { adminErrorBody } from './error-handler.js';

/**
 * The operator dashboard (docs/dashboard.md): static files from the top-level `ui/` folder under `/ui/`.
 * The files are read once at startup into memory (a few dozen small files), so a request can only
 * ever be answered with one of them: a path is looked up in that table and never touches the file
 * system, which rules out traversal by construction. Every answer carries a strict CSP (no inline
 * script or style, same-origin connections only, no framing) and is revalidated by ETag.
 */

export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors covers current browsers; X-Frame-Options covers old ones.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface UiFile {
  body: Buffer;
  type: string;
  etag: string;
}

export interface UiOptions {
  /** Folder holding index.html and its assets; default: the repository's `ui/`. */
  root?: string;
}

/** `ui/` next to `src/` (tsx, vitest) or next to `dist/` (compiled): the first ancestor that has one. */
export function defaultUiRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** Every servable file under `root`, keyed by its URL path relative to `/ui/` ('' is index.html). */
export async function loadUiFiles(root: string): Promise<Map<string, UiFile>> {
  const files = new Map<string, UiFile>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      // Dotfiles (editor swap files, .DS_Store …) are never published.
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const type = CONTENT_TYPES[extname(entry.name).toLowerCase()];
      if (!entry.isFile() || type === undefined) continue;
      const body = await readFile(full);
      files.set(relative(root, full).split(sep).join('/'), { body, type, etag: etagOf(body) });
    }
  };
  await walk(root);
  const index = files.get('index.html');
  if (index !== undefined) files.set('', index);
  return files;
}

/**
 * Browser modules of the project's dependencies, served under `/ui/vendor/` straight from the
 * installed package (the dashboard never loads anything from a CDN): URL path → module specifier.
 */
export const VENDOR_FILES: Record<string, string> = {
  'vendor/uplot/uPlot.esm.js': 'uplot/dist/uPlot.esm.js',
  'vendor/uplot/uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** The VENDOR_FILES, read from node_modules through Node's resolution (hoisted or not). */
export async function loadVendorFiles(): Promise<Map<string, UiFile>> {
  const require = createRequire(import.meta.url);
  const files = new Map<string, UiFile>();
  for (const [path, specifier] of Object.entries(VENDOR_FILES)) {
    const body = await readFile(require.resolve(specifier));
    files.set(path, { body, type: CONTENT_TYPES[extname(path)]!, etag: etagOf(body) });
  }
  return files;
}

function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags or `*`. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === etag;
  });
}

export const uiRoutes = (options: UiOptions = {}): FastifyPluginAsync =>
  async (app) => {
    const root = options.root ?? defaultUiRoot();
    const files = root === undefined ? new Map<string, UiFile>() : await loadUiFiles(root);
    // The charting library, from the installed package; a file of ui/ never shadows it.
    for (const [path, file] of await loadVendorFiles()) files.set(path, file);
    if (!files.has('')) {
      app.log.warn({ root: root ?? null }, 'dashboard files not found (ui/index.html): /ui/ answers 404');
    }

    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(SECURITY_HEADERS);
      done();
    });

    app.get('/ui', { logLevel: 'warn' }, async (_request, reply) => reply.redirect('/ui/', 308));
    // A person opening the bare address lands on the dashboard instead of a 404. (302: the root
    // may one day serve something else; a permanent redirect would be cached by browsers.)
    app.get('/', { logLevel: 'warn' }, async (_request, reply) => reply.redirect('/ui/', 302));

    app.get<{ Params: { '*': string } }>('/ui/*', { logLevel: 'warn' }, async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
      const file = files.get(request.params['*']);
      if (file === undefined) {
        const message = files.has('') ? `no dashboard file ${request.url.split('?')[0]}` : 'the dashboard files (ui/) are not installed';
        return reply.code(404).send(adminErrorBody('NOT_FOUND', message));
      }
      // no-cache: the browser keeps the file but asks every time (304 when unchanged), so a new
      // release is picked up at once although the module URLs carry no version.
      reply.header('cache-control', 'no-cache').header('etag', file.etag).header('content-type', file.type);
      if (matchesEtag(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
      return reply.send(file.body);
    });
  };
