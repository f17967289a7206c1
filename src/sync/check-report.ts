import type { CheckAnnotation } from '../github/index.js';
import type { SyncError } from './model.js';
import type { PlanPreview } from './plan-preview.js';

/**
 * The check run of a registry file at a commit (pull requests and pushes): a conclusion, a
 * one-line title, a Markdown summary with the plan per linked tenant, and one annotation per
 * error, collision and warning at its line and column. Also the one-line commit status that
 * stands in for it when the credential cannot create check runs.
 */

export const CHECK_NAME_PREFIX = 'Gatehouse: ';

export interface TenantCheck {
  tenant: string;
  /** Undefined when the file is invalid (nothing would be applied). */
  plan: PlanPreview | undefined;
  /** This tenant's collisions with its manual connectors or other links, at the claiming entry. */
  collisions: SyncError[];
  warnings: SyncError[];
  /** Why the tenant has no plan row (a push check: its sync did not apply this commit). */
  note?: string;
}

export interface CheckInput {
  path: string;
  sha: string;
  /** The commit has no file at `path`. */
  absent: boolean;
  /** The file's own errors (encoding, JSON, schema, rules, templates). */
  errors: SyncError[];
  /** The file's own warnings, the same for every tenant (a JSON-typed response template that renders no JSON). */
  warnings: SyncError[];
  tenants: TenantCheck[];
  /** A pushed commit: the plan is what was applied, not what merging would apply. */
  applied?: boolean;
}

export interface CheckReport {
  name: string;
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
  summary: string;
  annotations: CheckAnnotation[];
  /** Commit status fallback (at most 140 characters once cut by the status client). */
  statusState: 'success' | 'failure';
  statusDescription: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function checkName(path: string): string {
  return `${CHECK_NAME_PREFIX}${path}`;
}

export function buildCheckReport(input: CheckInput): CheckReport {
  const collisions = input.tenants.reduce((n, t) => n + t.collisions.length, 0);
  const warnings = input.warnings.length + input.tenants.reduce((n, t) => n + t.warnings.length, 0);
  const failed = input.errors.length > 0 || collisions > 0;
  const totals = { created: 0, updated: 0, deleted: 0 };
  for (const t of input.tenants) {
    if (t.plan === undefined) continue;
    totals.created += t.plan.created.length;
    totals.updated += t.plan.updated.length;
    totals.deleted += t.plan.deleted.length;
  }
  const counts = `${totals.created} created, ${totals.updated} updated, ${totals.deleted} deleted`;
  const tenants = plural(input.tenants.length, 'tenant');
  const problems = [input.errors.length > 0 ? plural(input.errors.length, 'error') : '', collisions > 0 ? plural(collisions, 'collision') : ''].filter((s) => s !== '').join(', ');
  const warned = warnings > 0 ? `, ${plural(warnings, 'warning')}` : '';
  const conclusion = failed ? 'failure' : input.absent ? 'neutral' : 'success';
  const applied = input.applied === true;
  const title = failed
    ? `${problems}${warned}: nothing ${applied ? 'was' : 'would be'} applied`
    : input.absent
      ? `${input.path} is not in this commit: ${applied ? 'the linked connectors were removed' : 'merging removes the linked connectors'} (${tenants}: ${counts})`
      : `${tenants}: ${counts}${warned}`;

  const lines: string[] = [];
  const short = input.sha.slice(0, 12);
  if (failed) lines.push(`**${input.path}** at \`${short}\` has ${problems}${warned}. Nothing is applied until they are fixed; every problem is annotated on the file.`);
  else if (input.absent) lines.push(`**${input.path}** is not in commit \`${short}\`. ${applied ? 'Every connector the linked tenants had from this file was removed.' : 'Merging it removes every connector the linked tenants have from this file.'}`);
  else lines.push(`**${input.path}** at \`${short}\` is valid${warned}. ${applied ? 'Pushed to a linked branch, it was applied:' : 'Merging it would apply this plan:'}`);
  if (input.errors.length > 0) {
    lines.push('', '### Errors', '', '| where | problem |', '|---|---|');
    for (const e of input.errors) lines.push(`| ${where(e)} | ${cell(e.message)} |`);
  }
  if (input.warnings.length > 0) {
    lines.push('', '### Warnings', '', '| where | problem |', '|---|---|');
    for (const w of input.warnings) lines.push(`| ${where(w)} | ${cell(w.message)} |`);
  }
  lines.push('', '### Plan per linked tenant', '', '| tenant | created | updated | deleted | unchanged | collisions | warnings |', '|---|---|---|---|---|---|---|');
  for (const t of input.tenants) {
    const p = t.plan;
    const list = (xs: string[] | undefined) => (xs === undefined ? '—' : xs.length === 0 ? '0' : `${xs.length}: ${xs.map((x) => `\`${x}\``).join(', ')}`);
    lines.push(`| ${cell(t.tenant)} | ${list(p?.created)} | ${list(p?.updated)} | ${list(p?.deleted)} | ${p === undefined ? '—' : String(p.unchanged.length)} | ${t.collisions.length === 0 ? '0' : t.collisions.map((c) => `\`${c.permalink ?? ''}\``).join(', ')} | ${t.warnings.length} |`);
  }
  if (input.tenants.some((t) => t.plan === undefined && t.note === undefined)) lines.push('', '— : not computed, the file is invalid.');
  const notes = input.tenants.filter((t) => t.note !== undefined);
  if (notes.length > 0) lines.push('', ...notes.map((t) => `- ${cell(t.tenant)}: ${cell(t.note!)}`));
  const tenantProblems = input.tenants.flatMap((t) => [...t.collisions.map((c) => ({ t, e: c, kind: 'collision' })), ...t.warnings.map((w) => ({ t, e: w, kind: 'warning' }))]);
  if (tenantProblems.length > 0) {
    lines.push('', '### Collisions and warnings', '', '| tenant | where | problem |', '|---|---|---|');
    for (const { t, e, kind } of tenantProblems) lines.push(`| ${cell(t.tenant)} | ${where(e)} | ${kind}: ${cell(e.message)} |`);
  }

  const annotations: CheckAnnotation[] = [
    ...input.errors.map((e) => annotation(input.path, e, 'failure', undefined)),
    ...input.tenants.flatMap((t) => t.collisions.map((e) => annotation(input.path, e, 'failure', t.tenant))),
    ...input.warnings.map((e) => annotation(input.path, e, 'warning', undefined)),
    ...input.tenants.flatMap((t) => t.warnings.map((e) => annotation(input.path, e, 'warning', t.tenant))),
  ];

  const first = input.errors[0] ?? input.tenants.flatMap((t) => t.collisions)[0];
  const statusDescription = failed
    ? `${input.path}: ${problems}, nothing would be applied${first === undefined ? '' : `; ${first.line > 0 ? `line ${first.line}:${first.column} ` : ''}${first.message}`}`
    : `${input.path}: ${tenants}, ${counts}${warned}${input.absent ? ' (file absent)' : ''}`;
  return { name: checkName(input.path), conclusion, title, summary: lines.join('\n'), annotations, statusState: failed ? 'failure' : 'success', statusDescription };
}

function where(e: SyncError): string {
  const at = e.line > 0 ? `line ${e.line}:${e.column}` : 'file';
  return e.path === '' ? at : `${at} \`${e.path}\``;
}

/** Markdown table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
}

function annotation(path: string, e: SyncError, level: CheckAnnotation['annotation_level'], tenant: string | undefined): CheckAnnotation {
  const line = e.line > 0 ? e.line : 1;
  return {
    path,
    start_line: line,
    end_line: line,
    ...(e.line > 0 && e.column > 0 ? { start_column: e.column, end_column: e.column } : {}),
    annotation_level: level,
    message: `${tenant === undefined ? '' : `tenant ${tenant}: `}${e.message}`.slice(0, 60_000),
    title: (e.path === '' ? (level === 'warning' ? 'warning' : 'error') : e.path).slice(0, 255),
  };
}
