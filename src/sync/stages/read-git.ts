import { GitSourceError } from '../../git/index.js';
import type { RegistryBlob } from '../../github/index.js';
import { AppError } from '../../errors.js';
import type { GitSources } from '../git-service.js';
import type { StoredGitLink } from '../git-links.js';
import { SyncFailure, plainError } from './failure.js';

/**
 * Git links, stages 1–3 in one: the head of the linked branch and the registry file at that
 * commit, read with a shallow fetch over smart HTTP. Git's own refs are authoritative (there is
 * no API that could lag behind a push), so there is no lag check: the commit fetched is the head.
 * A host that cannot be reached is retried; every other problem (TLS, credentials, missing
 * repository or branch, a file over 5 MB) fails the sync with its own message and leaves the
 * live set as it is.
 */
export async function readGitRegistry(git: GitSources, link: StoredGitLink): Promise<{ head: string; file: RegistryBlob | undefined }> {
  let target;
  try {
    target = await git.target(link);
  } catch (err) {
    // The named secret is gone: nothing to retry until an operator recreates it.
    if (err instanceof AppError && err.status === 422) throw new SyncFailure('error', [plainError(err.message)], null);
    throw err;
  }
  try {
    const { commit, file } = await git.remotes.file(target, link.path);
    return { head: commit, file };
  } catch (err) {
    if (!(err instanceof GitSourceError) || err.retryable) throw err;
    throw new SyncFailure(err.kind === 'file-too-large' ? 'failure' : 'error', [plainError(err.message)], null);
  }
}
