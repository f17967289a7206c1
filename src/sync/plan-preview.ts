import { parseJsonWithPositions } from '../registry/json-source.js';
import type { RegistryFile } from '../registry/model.js';
import { derivePermalink } from '../registry/permalink.js';
import { definitionRevision, type CollisionInfo, type RegistryStore } from '../registry/store.js';
import type { SyncError } from './model.js';

/**
 * What applying a file to one tenant link would do, without doing it (pull request checks): the
 * permalinks it would create, update, delete and leave unchanged — computed like the atomic
 * replacement computes them (a definition counts as updated only when its revision changes) — and
 * the permalinks it would take from a manual connector or another link of the tenant.
 */

export interface PlanPreview {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
  collisions: CollisionInfo[];
}

export async function previewPlan(registry: RegistryStore, tenant: string, repository: string, content: RegistryFile): Promise<PlanPreview> {
  const live = new Map((await registry.list(tenant)).map((c) => [c.definition.permalink, c]));
  const preview: PlanPreview = { created: [], updated: [], deleted: [], unchanged: [], collisions: [] };
  const incoming = new Set<string>();
  for (const definition of [...content.connectors, ...content.composite_connectors]) {
    const p = definition.permalink;
    incoming.add(p);
    const current = live.get(p);
    if (current === undefined) preview.created.push(p);
    else if (current.source !== 'repository' || current.repository !== repository) {
      preview.collisions.push({ permalink: p, owner: current.source === 'manual' ? { source: 'manual' } : { source: 'repository', repository: current.repository ?? '' } });
    } else if (current.revision !== definitionRevision(definition)) preview.updated.push(p);
    else preview.unchanged.push(p);
  }
  for (const [p, c] of live) {
    if (c.source === 'repository' && c.repository === repository && !incoming.has(p)) preview.deleted.push(p);
  }
  for (const list of [preview.created, preview.updated, preview.deleted, preview.unchanged]) list.sort();
  return preview;
}

/** A permalink an entry of the file claims, and where (for files that fail validation too). */
export interface ClaimedPermalink {
  permalink: string;
  path: string;
  line: number;
  column: number;
}

/**
 * The permalinks a file's entries claim, read from the JSON itself (an explicit `permalink`, else
 * the one derived from `name`), so that a file with validation errors is still checked for
 * collisions: every problem is reported in one pass. Empty when the text is not JSON.
 */
export function claimedPermalinks(text: string): ClaimedPermalink[] {
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) return [];
  const doc = parsed.value as Record<string, unknown>;
  const out: ClaimedPermalink[] = [];
  for (const section of ['connectors', 'composite_connectors']) {
    const list = doc[section];
    if (!Array.isArray(list)) continue;
    list.forEach((entry: unknown, i) => {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return;
      const e = entry as Record<string, unknown>;
      const explicit = typeof e.permalink === 'string' && e.permalink !== '';
      const permalink = explicit ? (e.permalink as string) : typeof e.name === 'string' ? derivePermalink(e.name) : '';
      if (permalink === '') return;
      const path = `/${section}/${i}/${explicit ? 'permalink' : 'name'}`;
      out.push({ permalink, path, ...parsed.locator.value(path) });
    });
  }
  return out;
}

/** The claimed permalinks a tenant already has as manual connectors or from another link, as errors at the claiming entry. */
export async function claimedCollisions(registry: RegistryStore, tenant: string, repository: string, claimed: ClaimedPermalink[]): Promise<SyncError[]> {
  if (claimed.length === 0) return [];
  const live = new Map((await registry.list(tenant)).map((c) => [c.definition.permalink, c]));
  const errors: SyncError[] = [];
  for (const c of claimed) {
    const owner = live.get(c.permalink);
    if (owner === undefined || (owner.source === 'repository' && owner.repository === repository)) continue;
    errors.push({ permalink: c.permalink, path: c.path, line: c.line, column: c.column, message: collisionMessage(c.permalink, owner.source === 'manual' ? { source: 'manual' } : { source: 'repository', repository: owner.repository ?? '' }) });
  }
  return errors;
}

export function collisionMessage(permalink: string, owner: CollisionInfo['owner']): string {
  const who = owner.source === 'manual'
    ? 'a manual connector of this tenant (rename the connector in the file, or delete the manual one)'
    : `a connector synced from ${owner.repository} (permalinks are unique per tenant)`;
  return `permalink "${permalink}" is already used by ${who}`;
}
