import { GitHubError, type GitHub, type RegistryBlob } from '../../github/index.js';
import type { StoredLink } from '../links.js';
import { SyncFailure, plainError } from './failure.js';

/** Stage 3: the registry file at the head commit with its blob SHA; undefined when the commit has none. */
export async function fetchRegistry(github: GitHub, link: StoredLink, head: string): Promise<RegistryBlob | undefined> {
  try {
    return await github.repositories.file(link.repository, link.path, head);
  } catch (err) {
    if (err instanceof GitHubError && err.kind === 'permanent') throw new SyncFailure('error', [plainError(err.message)], head);
    throw err;
  }
}
