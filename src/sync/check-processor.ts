import { DelayedError, type Job } from 'bullmq';
import { classifyGitHubError, GitHubError, type GitHub } from '../github/index.js';
import type { Logger } from '../logger.js';
import { RegistryCollisionError, type RegistryStore } from '../registry/store.js';
import { buildCheckReport, type CheckReport, type TenantCheck } from './check-report.js';
import type { GitHubGate } from './github-gate.js';
import { newSyncId, type SyncHistory } from './history.js';
import type { LinkStore, RepoLinkEntry } from './links.js';
import { TERMINAL_STATES, type CheckJobData, type CheckRunReport, type SyncRecord } from './model.js';
import { claimedCollisions, previewPlan } from './plan-preview.js';
import type { RegistryArtifact, SourceStep } from './source-step.js';
import { GitHubSource } from './sources/github.js';
import { inFileOrder, unknownNameWarnings } from './warnings.js';
import { collisionErrors } from './stages/activate.js';
import { SyncFailure } from './stages/failure.js';

/**
 * Pull request checks (jobs `check` of the `status` queue). For a pull request whose base branch
 * is linked, the registry file at the head commit goes through the same source step as a sync
 * (read once per commit, validated once per blob SHA — a fork's commit is only read, nothing in
 * it runs), then each linked tenant gets a plan preview: created / updated / deleted / unchanged
 * permalinks and collisions with its manual connectors or other links. One check run per file
 * path carries the plan and an annotation per problem; nothing is applied. Each tenant's result
 * is a sync record (trigger `pull_request`) the check run links to. A credential that cannot
 * create check runs (a token rather than a GitHub App) gets a commit status with the plan's
 * counts instead, and the log says so once. A push to a linked branch (GitHub App only) gets the
 * same check run, built from what its syncs applied once they have all finished (checkPush).
 */

export interface CheckDeps {
  github: GitHub;
  sourceStep: SourceStep;
  registry: RegistryStore;
  links: LinkStore;
  history: SyncHistory;
  gate: GitHubGate;
  log: Logger;
  valueNames(tenant: string): Promise<{ secret: Set<string>; variable: Set<string> }>;
  /** PUBLIC_URL: links to the dashboard's sync records (none without it). */
  publicUrl: string | undefined;
}

export function syncRecordUrl(publicUrl: string | undefined, id: string): string | undefined {
  return publicUrl === undefined ? undefined : `${publicUrl}/ui/#/syncs/${encodeURIComponent(id)}`;
}

export function createCheckProcessor(deps: CheckDeps) {
  let fallbackLogged = false;
  return async (job: Job<CheckJobData>, token?: string): Promise<string> => {
    const blocked = await deps.gate.blockedUntil();
    if (blocked > 0) {
      await job.moveToDelayed(blocked, token);
      throw new DelayedError();
    }
    const data = job.data;
    // A push check reports what the push's syncs did: it waits until every one has finished.
    let pushed: Map<string, SyncRecord> | undefined;
    if (data.syncs !== undefined) {
      pushed = new Map();
      for (const s of data.syncs) {
        const record = await deps.history.getIn(s.tenant, s.syncId);
        if (record === undefined) continue;
        if (!TERMINAL_STATES.has(record.state)) {
          await job.moveToDelayed(Date.now() + pushCheckWait(job.timestamp), token);
          throw new DelayedError();
        }
        pushed.set(s.tenant, record);
      }
    }
    const entries = (await deps.links.linksOfRepository(data.repoKey)).filter((e) => e.branch === data.branch && (pushed === undefined || pushed.has(e.tenant)));
    if (entries.length === 0) return 'unlinked';
    const byPath = new Map<string, RepoLinkEntry[]>();
    for (const e of entries) byPath.set(e.path, [...(byPath.get(e.path) ?? []), e]);
    const results: string[] = [];
    try {
      for (const [path, links] of byPath) {
        const onFallback = () => {
          if (fallbackLogged) return;
          fallbackLogged = true;
          deps.log.warn({ repository: data.repository }, 'the GitHub credential cannot create check runs (they need a GitHub App with checks: write): pull request checks are reported as commit statuses with the plan\'s counts, pushes by their syncs\' commit statuses only');
        };
        const outcome = pushed === undefined ? await checkFile(deps, data, path, links, onFallback) : await checkPush(deps, data, path, links, pushed, onFallback);
        results.push(outcome);
      }
    } catch (err) {
      const e = err instanceof GitHubError ? err : classifyGitHubError(err, pushed === undefined ? 'pull request check' : 'push check');
      if (e.kind === 'rate-limited' && e.retryAt !== undefined) {
        await deps.gate.block(e.retryAt);
        await job.moveToDelayed(e.retryAt, token);
        throw new DelayedError();
      }
      if (e.kind === 'retryable' && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw e;
      deps.log.warn({ repository: data.repository, sha: data.headSha, ...(data.pullRequest !== undefined ? { pull_request: data.pullRequest } : {}), reason: e.message }, 'check could not finish');
      return 'failed';
    }
    return results.join(',');
  };
}

/** How long a push check waits before looking at its syncs again: longer the longer they take. */
function pushCheckWait(queuedAt: number): number {
  return Math.min(PUSH_CHECK_MAX_WAIT_MS, Math.max(PUSH_CHECK_MIN_WAIT_MS, (Date.now() - queuedAt) / 4));
}
const PUSH_CHECK_MIN_WAIT_MS = 250;
const PUSH_CHECK_MAX_WAIT_MS = 30_000;

/** The commit's file through the source step (read once per commit, validated once per blob SHA). */
async function readArtifact(deps: CheckDeps, data: CheckJobData, path: string): Promise<{ absent: boolean; artifact: RegistryArtifact }> {
  const source = new GitHubSource(deps.github, data.repository, data.branch, path);
  try {
    const file = await deps.sourceStep.file(source, data.headSha);
    return { absent: file === undefined, artifact: await deps.sourceStep.validate(file) };
  } catch (err) {
    // The file cannot be read for a reason retrying cannot fix (a directory, a permanent GitHub error).
    if (!(err instanceof SyncFailure)) throw err;
    return { absent: false, artifact: { ok: false, errors: err.errors, claimed: [] } };
  }
}

/**
 * A pushed commit: the check run shows what the push's syncs did — the plan each tenant's sync
 * applied (unchanged: the file's other permalinks), its collisions, warnings — next to the
 * commit statuses the syncs post themselves. A tenant whose sync did not apply this commit (a
 * newer push superseded it, the link is pinned, GitHub could not be read) says why instead.
 */
async function checkPush(deps: CheckDeps, data: CheckJobData, path: string, links: RepoLinkEntry[], records: Map<string, SyncRecord>, onFallback: () => void): Promise<string> {
  const { absent, artifact } = await readArtifact(deps, data, path);
  const fileWarnings = artifact.ok ? artifact.warnings : [];
  const permalinks = artifact.ok ? [...artifact.content.connectors, ...artifact.content.composite_connectors].map((d) => d.permalink) : [];
  const tenants: TenantCheck[] = [];
  for (const link of [...links].sort((a, b) => a.tenant.localeCompare(b.tenant))) {
    const r = records.get(link.tenant)!;
    const warnings = artifact.ok && artifact.references.length > 0 ? unknownNameWarnings(artifact.references, await deps.valueNames(link.tenant), link.tenant) : [];
    const collisions = r.state === 'failed' ? r.errors.filter((e) => e.file === undefined && e.permalink !== undefined) : [];
    const ofThisCommit = r.sha === data.headSha;
    if (ofThisCommit && (r.state === 'succeeded' || r.state === 'unchanged')) {
      const changed = new Set([...r.plan.created, ...r.plan.updated]);
      tenants.push({ tenant: link.tenant, plan: { ...r.plan, unchanged: permalinks.filter((p) => !changed.has(p)).sort(), collisions: [] }, collisions: [], warnings });
      continue;
    }
    const note = !ofThisCommit ? `not applied: its sync ran on ${r.sha === null ? 'no commit' : `\`${r.sha.slice(0, 12)}\``} (${r.state}${r.last_error ? `: ${r.last_error}` : ''})`
      : r.state === 'failed' && collisions.length === 0 && artifact.ok ? `not applied: ${r.errors[0]?.message ?? 'the sync failed'}`
      : r.state === 'failed' ? 'not applied' : `not applied (${r.state}${r.last_error ? `: ${r.last_error}` : ''})`;
    tenants.push({ tenant: link.tenant, plan: undefined, collisions, warnings, note });
  }
  const report = buildCheckReport({ path, sha: data.headSha, absent, errors: artifact.ok ? [] : artifact.errors, warnings: fileWarnings, tenants, applied: true });
  const ids = links.map((l) => records.get(l.tenant)!.id);
  const outcome = await createCheckRun(deps, data, report, checkDetailsUrl(deps.publicUrl, data.repository, ids), `push-${data.headSha}`);
  // Without check runs the syncs' own commit statuses already report this commit.
  if (outcome.result !== 'posted') onFallback();
  const checkRun: CheckRunReport = outcome.result === 'posted'
    ? { conclusion: report.conclusion, result: 'posted', id: outcome.id }
    : { conclusion: report.conclusion, result: 'not_permitted', message: `${outcome.message}; the commit status of each sync reports this commit` };
  for (const l of links) await deps.history.update(l.tenant, records.get(l.tenant)!.id, { check_run: checkRun });
  return `${path}:${report.conclusion}`;
}

async function checkFile(deps: CheckDeps, data: CheckJobData, path: string, links: RepoLinkEntry[], onFallback: () => void): Promise<string> {
  const started = Date.now();
  const { absent, artifact } = await readArtifact(deps, data, path);
  const tenants: TenantCheck[] = [];
  for (const link of [...links].sort((a, b) => a.tenant.localeCompare(b.tenant))) {
    if (artifact.ok) {
      const plan = await previewPlan(deps.registry, link.tenant, link.repository, artifact.content);
      const collisions = plan.collisions.length === 0 ? [] : collisionErrors(new RegistryCollisionError(plan.collisions), artifact.text, artifact.content);
      const warnings = artifact.references.length === 0 ? [] : unknownNameWarnings(artifact.references, await deps.valueNames(link.tenant), link.tenant);
      tenants.push({ tenant: link.tenant, plan, collisions, warnings });
    } else {
      tenants.push({ tenant: link.tenant, plan: undefined, collisions: await claimedCollisions(deps.registry, link.tenant, link.repository, artifact.claimed), warnings: [] });
    }
  }
  const fileWarnings = artifact.ok ? artifact.warnings : [];
  const report = buildCheckReport({ path, sha: data.headSha, absent, errors: artifact.ok ? [] : artifact.errors, warnings: fileWarnings, tenants });

  const finished = Date.now();
  const records: SyncRecord[] = tenants.map((t) => {
    const link = links.find((l) => l.tenant === t.tenant)!;
    const failed = !artifact.ok || t.collisions.length > 0;
    return {
      id: newSyncId(started),
      tenant: t.tenant,
      repository: link.repository,
      branch: data.branch,
      sha: data.headSha,
      trigger: 'pull_request',
      state: failed ? 'failed' : 'succeeded',
      delivery_id: data.deliveryId,
      created_at: new Date(started).toISOString(),
      started_at: new Date(started).toISOString(),
      finished_at: new Date(finished).toISOString(),
      duration_ms: finished - started,
      plan: t.plan === undefined ? { created: [], updated: [], deleted: [] } : { created: t.plan.created, updated: t.plan.updated, deleted: t.plan.deleted },
      errors: [...(artifact.ok ? [] : artifact.errors), ...t.collisions],
      warnings: inFileOrder([...fileWarnings, ...t.warnings]),
      attempts: 1,
      pull_request: { number: data.pullRequest!, head_sha: data.headSha },
      check_run: { conclusion: report.conclusion, result: 'pending' },
    };
  });
  for (const r of records) await deps.history.addCheck(r);
  const detailsUrl = checkDetailsUrl(deps.publicUrl, data.repository, records.map((r) => r.id));
  const checkRun = await postCheck(deps, data, report, detailsUrl, onFallback);
  for (const r of records) await deps.history.update(r.tenant, r.id, { check_run: checkRun });
  return `${path}:${report.conclusion}`;
}

/** One tenant's record, or — several tenants link the branch — the repository's records on the dashboard. */
function checkDetailsUrl(publicUrl: string | undefined, repository: string, recordIds: string[]): string | undefined {
  if (recordIds.length === 1) return syncRecordUrl(publicUrl, recordIds[0]!);
  return publicUrl === undefined ? undefined : `${publicUrl}/ui/#/syncs?repository=${encodeURIComponent(repository)}`;
}

function createCheckRun(deps: CheckDeps, data: CheckJobData, report: CheckReport, detailsUrl: string | undefined, externalId: string) {
  return deps.github.checks.create(data.repository, {
    name: report.name,
    headSha: data.headSha,
    conclusion: report.conclusion,
    title: report.title,
    summary: report.summary,
    annotations: report.annotations,
    ...(detailsUrl !== undefined ? { detailsUrl } : {}),
    externalId,
  });
}

/** The check run, or — when the credential may not create one — a commit status with the plan's counts. */
async function postCheck(deps: CheckDeps, data: CheckJobData, report: CheckReport, detailsUrl: string | undefined, onFallback: () => void): Promise<CheckRunReport> {
  const outcome = await createCheckRun(deps, data, report, detailsUrl, `pr-${data.pullRequest}`);
  if (outcome.result === 'posted') return { conclusion: report.conclusion, result: 'posted', id: outcome.id };
  onFallback();
  const status = await deps.github.statuses.post(data.repository, data.headSha, report.statusState, report.statusDescription, detailsUrl);
  return { conclusion: report.conclusion, result: 'not_permitted', message: status.result === 'posted' ? `${outcome.message}; a commit status was posted instead` : `${outcome.message}; the commit status was refused too (${status.message})` };
}
