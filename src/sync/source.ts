import type { StoredLink } from './links.js';

/**
 * Where a link's registry file comes from. A source answers two questions — which commit the
 * linked branch points at now, and what bytes the registry file has at a given commit — plus the
 * ancestry of two commits (for GitHub's lag and for replayed deliveries). Everything after that
 * (decode, parse, validate, plan, apply) is the same for every kind of source; see
 * source-step.ts and pipeline.ts. GitHub is one implementation (sources/github.ts).
 *
 * Implementations throw SyncFailure (stages/failure.ts) for what retrying cannot fix, SyncRetry
 * for what should clear by itself, and their own transport errors otherwise (the processor
 * classifies GitHubError; anything else is retried).
 */

export interface RegistryBlob {
  /** Git blob SHA of the file at that commit: an unchanged file is recognised without reading it twice. */
  blobSha: string;
  /** The file's bytes, undecoded: the source step decodes them strictly as UTF-8. */
  bytes: Buffer;
}

/** How `head` relates to `base`; `unknown` when a commit is gone (force-pushed away) or the source cannot tell. */
export type CommitRelation = 'ahead' | 'behind' | 'identical' | 'diverged' | 'unknown';

export interface RegistrySource {
  /** Identity of the file this source reads (kind, repository, path): the source step caches under it. */
  readonly id: string;
  /** The commit the linked branch points at now. */
  resolveHead(): Promise<string>;
  /** The registry file at `commit`, or undefined when that commit has no such file. */
  readFile(commit: string): Promise<RegistryBlob | undefined>;
  compare(base: string, head: string): Promise<CommitRelation>;
}

/** Picks the source implementation of a link (one per source kind). */
export interface SourceProvider {
  forLink(link: StoredLink): RegistrySource;
}
