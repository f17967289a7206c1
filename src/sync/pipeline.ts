import type { SpanScope } from '../observability/tracing.js';
import type { RegistryStore } from '../registry/store.js';
import type { GitSources } from './git-service.js';
import { isGitLink, type StoredGitLink } from './git-links.js';
import { linkKeyOf, type LinkStore, type StoredLink } from './links.js';
import type { SyncError, SyncPlan, SyncRecord } from './model.js';
import type { SourceStep } from './source-step.js';
import type { RegistryBlob, SourceProvider } from './source.js';
import { SyncFailure, plainError } from './stages/failure.js';
import { claimedCollisions } from './plan-preview.js';
import { inFileOrder, unknownNameWarnings, type TemplateReference } from './warnings.js';
import { activate } from './stages/activate.js';
import { checkHead } from './stages/check-head.js';
import { fetchRegistry } from './stages/fetch-registry.js';
import { readGitRegistry } from './stages/read-git.js';
import { freshness } from './stages/freshness.js';
import { resolveHead } from './stages/resolve-head.js';
import { validateRegistry } from './stages/validate.js';

/**
 * One sync of one tenant link, stage by stage (each stage is its own file under stages/):
 *   source step (shared by every link reading the same file, see source-step.ts):
 *     resolve the branch head → check the source is not behind the push → read the registry file
 *     (once per commit)
 *   apply step (per link):
 *     unchanged / superseded? → the file's verdict (validated once per blob SHA) → activate atomically.
 * The source is whatever the link reads (sources/github.ts for GitHub links; a Git link reads its
 * head and file in one shallow fetch, stages/read-git.ts, and earlier commits through
 * sources/git.ts). A stage ends the sync early by returning an outcome, failing it with
 * SyncFailure, or asking for a retry (SyncRetry, GitHubError retryable / rate-limited).
 */

export interface PipelineDeps {
  sources: SourceProvider;
  sourceStep: SourceStep;
  registry: RegistryStore;
  /** Links to other Git hosts read their source here (src/sync/git-service.ts). */
  git: GitSources;
  links: LinkStore;
  /** The tenant's secret and variable names (for warnings about templates naming others). */
  valueNames(tenant: string): Promise<{ secret: Set<string>; variable: Set<string> }>;
  /** Attempts during which a head older than the pushed commit is treated as GitHub lag. */
  staleAttempts: number;
}

export type SyncOutcome =
  | { state: 'succeeded'; sha: string; blob: string | null; plan: SyncPlan; live: number; warnings: SyncError[] }
  | { state: 'unchanged'; sha: string }
  | { state: 'superseded'; sha: string | null; reason: string }
  | { state: 'failed'; sha: string | null; errors: SyncError[]; status: 'failure' | 'error' }
  /** A push or reconciliation of a pinned link: `sha` was not applied, `pinned` stays live. */
  | { state: 'skipped'; sha: string | null; pinned: string };

/** What the pipeline learnt before it stopped (the head is reported even when a later stage fails). */
export interface Progress {
  head: string | null;
}

/** Runs one stage, as a child span of the job's span when the sync is traced. */
type Stage = <T>(name: string, run: () => Promise<T>) => Promise<T>;

function stageRunner(span: SpanScope | undefined): Stage {
  if (span === undefined || !span.recording) return (_name, run) => run();
  return (name, run) => span.child(`sync ${name}`, { attributes: { 'gatehouse.stage': name } }, () => run());
}

/**
 * Pins first, the same for every kind of link: a rollback applies its commit (the processor pins
 * the link once it succeeded); a pinned link applies its pinned commit when an operator asks
 * (manual resync, re-link) and skips pushes and reconciliation (a Git link's polls); an unpin
 * applies the branch head like a manual resync.
 */
export async function runPipeline(deps: PipelineDeps, link: StoredLink, record: SyncRecord, attempt: number, progress: Progress, span?: SpanScope): Promise<SyncOutcome> {
  const force = record.trigger === 'manual' || record.trigger === 'link' || record.trigger === 'unpin';
  const stage = stageRunner(span);
  if (record.trigger === 'rollback') {
    if (record.sha === null) throw new SyncFailure('error', [plainError('the rollback names no commit')], null);
    return applyPinnedCommit(deps, link, record.sha, progress, stage);
  }
  const pin = link.pin ?? null;
  if (pin !== null && record.trigger !== 'unpin') {
    if (force) return applyPinnedCommit(deps, link, pin.commit, progress, stage);
    // Push and reconcile records carry the commit they announce; nothing needs reading.
    const sha = record.sha ?? (await resolveHead(deps.sourceStep, deps.sources.forLink(link)));
    progress.head = sha;
    return { state: 'skipped', sha, pinned: pin.commit };
  }
  if (isGitLink(link)) return runGitPipeline(deps, link, force, progress, stage);
  // A push queued for the link's previous branch, re-pointed (PUT) before it started: that pushed
  // commit says nothing about the branch the link watches now (no lag check, no ancestry check).
  const pushed = record.branch === link.branch ? record.sha : null;
  const source = deps.sources.forLink(link);
  const head = await stage('resolve-head', () => resolveHead(deps.sourceStep, source));
  progress.head = head;
  await stage('check-head', () => checkHead(source, link, head, pushed, attempt, deps.staleAttempts));
  const file = await stage('fetch-registry', () => fetchRegistry(deps.sourceStep, source, head));
  const blob = file?.blobSha ?? null;
  const fresh = await stage('freshness', () => freshness(source, link, head, blob, pushed, force));
  if (fresh.verdict === 'unchanged') return { state: 'unchanged', sha: head };
  // The record names the commit that lost (the pushed one), not the head it was compared with.
  if (fresh.verdict === 'superseded') return { state: 'superseded', sha: pushed ?? head, reason: fresh.reason };
  return applyFile(deps, link, head, file, 'the repository was unlinked', stage);
}

/**
 * The file of an earlier commit (a rollback, or a pinned link's resync), validated again and
 * applied like a head. A commit the source no longer has (force-pushed away and collected) fails
 * the sync instead of reading as "no file", which would empty the link.
 */
async function applyPinnedCommit(deps: PipelineDeps, link: StoredLink, commit: string, progress: Progress, stage: Stage): Promise<SyncOutcome> {
  const source = deps.sources.forLink(link);
  progress.head = commit;
  // Asked before the file, which the source step may still hold from when the commit was applied.
  if ((await source.compare(commit, commit)) === 'unknown') {
    throw new SyncFailure('error', [plainError(`commit ${commit.slice(0, 12)} is no longer in ${link.repository}: it was force-pushed away`)], commit);
  }
  const file = await stage('fetch-registry', () => fetchRegistry(deps.sourceStep, source, commit));
  return applyFile(deps, link, commit, file, isGitLink(link) ? 'the Git link was removed' : 'the repository was unlinked', stage);
}

/**
 * A Git link: read the head and its file in one shallow fetch, then the same freshness, validation
 * and activation as GitHub links. The head read now is what is applied, whatever commit a webhook
 * named, so a replayed or late delivery can only find its commit already live (`unchanged`) or
 * replaced by a newer head: an older commit never wins.
 */
async function runGitPipeline(deps: PipelineDeps, link: StoredGitLink, force: boolean, progress: Progress, stage: Stage): Promise<SyncOutcome> {
  const { head, file } = await stage('read-git', () => readGitRegistry(deps.git, link));
  progress.head = head;
  const blob = file?.blobSha ?? null;
  if (!force && link.applied !== null && link.applied.blob === blob) return { state: 'unchanged', sha: head };
  return applyFile(deps, link, head, file, 'the Git link was removed', stage);
}

/** Validate (once per blob), check the link still points where it did, activate atomically. */
async function applyFile(deps: PipelineDeps, link: StoredLink, head: string, file: RegistryBlob | undefined, goneReason: string, stage: Stage): Promise<SyncOutcome> {
  const blob = file?.blobSha ?? null;
  const { content, text, references, warnings: fileWarnings } = await stage('validate', () => validateRegistry(deps.sourceStep, file, head, (claimed) => claimedCollisions(deps.registry, link.tenant, link.repository, claimed), link.path));
  // The link may have been removed or re-pointed while the source answered: then this result is moot.
  const current = await deps.links.get(link.tenant, linkKeyOf(link));
  if (current === undefined || current.generation !== link.generation) {
    return { state: 'superseded', sha: head, reason: current === undefined ? goneReason : 'the link was changed to another branch or path' };
  }
  const plan = await stage('activate', () => activate(deps.registry, link, head, text, content));
  // Never blocking: names the tenant does not have (yet) are reported on the record.
  const warnings = await linkWarnings(deps, link.tenant, fileWarnings, references);
  return { state: 'succeeded', sha: head, blob, plan, live: content.connectors.length + content.composite_connectors.length, warnings };
}

/** The file's own warnings and the names the tenant does not have, in the file's order. */
async function linkWarnings(deps: PipelineDeps, tenant: string, fileWarnings: SyncError[], references: TemplateReference[]): Promise<SyncError[]> {
  const names = references.length === 0 ? [] : unknownNameWarnings(references, await deps.valueNames(tenant), tenant);
  return inFileOrder([...fileWarnings, ...names]);
}
