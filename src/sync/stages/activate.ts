import { parseJsonWithPositions } from '../../registry/json-source.js';
import type { RegistryFile } from '../../registry/model.js';
import { RegistryCollisionError, type RegistryStore } from '../../registry/store.js';
import type { SyncError, SyncPlan } from '../model.js';
import type { StoredLink } from '../links.js';
import { collisionMessage } from '../plan-preview.js';
import { SyncFailure } from './failure.js';

/**
 * Stage 6: make the file's set the link's live set in one atomic step (docs/design.md#collisions, docs/design.md#all-or-nothing, docs/design.md#removing-connectors).
 * A permalink owned by a manual connector or another link fails the whole file; each collision
 * is reported at the entry of the file that claims it.
 */
export async function activate(registry: RegistryStore, link: StoredLink, head: string, text: string | undefined, content: RegistryFile): Promise<SyncPlan> {
  try {
    return await registry.replaceLink(link.tenant, link.repository, {
      connectors: content.connectors,
      composites: content.composite_connectors,
      commitSha: head,
    });
  } catch (err) {
    if (!(err instanceof RegistryCollisionError)) throw err;
    throw new SyncFailure('failure', collisionErrors(err, text, content), head);
  }
}

export function collisionErrors(err: RegistryCollisionError, text: string | undefined, content: RegistryFile): SyncError[] {
  const parsed = text === undefined ? undefined : parseJsonWithPositions(text);
  const raw = parsed?.ok === true ? (parsed.value as Record<string, unknown>) : {};
  return err.collisions.map((c) => {
    let path = '';
    for (const [section, list] of [['connectors', content.connectors], ['composite_connectors', content.composite_connectors]] as const) {
      const i = list.findIndex((d) => d.permalink === c.permalink);
      if (i >= 0) {
        const entry = (raw[section] as Record<string, unknown>[] | undefined)?.[i];
        path = `/${section}/${i}/${entry !== undefined && 'permalink' in entry ? 'permalink' : 'name'}`;
        break;
      }
    }
    const at = parsed?.ok === true && path !== '' ? parsed.locator.value(path) : { line: 0, column: 0 };
    return { permalink: c.permalink, path, line: at.line, column: at.column, message: collisionMessage(c.permalink, c.owner) };
  });
}
