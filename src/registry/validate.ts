import type { Cidr } from '../config.js';
import type { ConnectorDefinition, RegistryFile, ValidationIssue } from './model.js';
import { NO_SOURCE, parseJsonWithPositions, type DuplicateKey, type SourceLocator } from './json-source.js';
import { derivePermalink, isValidPermalink } from './permalink.js';
import { authenticationRule } from './rules/auth.js';
import { duplicateJsonKeyIssues } from './rules/duplicate-json-keys.js';
import { duplicateParamKeysRule } from './rules/duplicate-params.js';
import { duplicatePermalinksRule } from './rules/duplicate-permalinks.js';
import { headerNamesRule } from './rules/header-names.js';
import { normalizeConnector, normalizeRegistry } from './rules/normalize.js';
import { pathParametersRule } from './rules/path-params.js';
import { permalinkDerivationRule } from './rules/permalink.js';
import { compositeStepsRule } from './rules/steps.js';
import { templatesRule } from './rules/templates.js';
import { isRecord, type RegistryDoc, type Rule, type RuleIssue, type Target } from './rules/types.js';
import { urlRule } from './rules/url.js';
import { schemaIssues } from './schema.js';

export { derivePermalink } from './permalink.js';

/**
 * The registry validator: parse with positions → JSON Schema → semantic rules → normalised model.
 * Every problem of the document is reported in one pass, each pointing at the offending value.
 * Used by `gatehouse validate`, the repository sync and the admin API (Code Mode).
 */

export interface ValidationOptions {
  /** UPSTREAM_ALLOW_HTTP: accept http:// upstreams (tests, on-prem). */
  allowHttp: boolean;
  /** UPSTREAM_ALLOW_CIDRS: literal hosts in these ranges are accepted although private/loopback. */
  allowCidrs: Cidr[];
}

export type ValidationResult<T> =
  | { ok: true; value: T }
  | { ok: false; errors: ValidationIssue[]; invalidJson?: { line: number; column: number; message: string } };

/** The semantic rules, in reporting order. Each lives in its own module under rules/. */
export const RULES: readonly { name: string; rule: Rule }[] = [
  { name: 'permalink-derivation', rule: permalinkDerivationRule },
  { name: 'duplicate-permalinks', rule: duplicatePermalinksRule },
  { name: 'duplicate-parameter-keys', rule: duplicateParamKeysRule },
  { name: 'header-names', rule: headerNamesRule },
  { name: 'url', rule: urlRule },
  { name: 'path-parameters', rule: pathParametersRule },
  { name: 'authentication', rule: authenticationRule },
  { name: 'templates', rule: templatesRule },
  { name: 'composite-steps', rule: compositeStepsRule },
];

export function validateRegistryText(text: string, options: ValidationOptions): ValidationResult<RegistryFile> {
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok) return invalidJson(parsed.error);
  return validateDocument(parsed.value, 'file', options, parsed.locator, parsed.duplicateKeys) as ValidationResult<RegistryFile>;
}

/** Code Mode: the text is one connector object, pointers are relative to it (`/url`, `/headers/0/key`). */
export function validateConnectorText(text: string, options: ValidationOptions): ValidationResult<ConnectorDefinition> {
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok) return invalidJson(parsed.error);
  return validateDocument(parsed.value, 'connector', options, parsed.locator, parsed.duplicateKeys) as ValidationResult<ConnectorDefinition>;
}

/** The same rules for an already-parsed registry file (no source positions: line and column are 0). */
export function validateRegistryValue(value: unknown, options: ValidationOptions): ValidationResult<RegistryFile> {
  return validateDocument(value, 'file', options, NO_SOURCE, []) as ValidationResult<RegistryFile>;
}

/** The same rules for an already-parsed Code Mode connector (no source positions). */
export function validateConnectorValue(value: unknown, options: ValidationOptions): ValidationResult<ConnectorDefinition> {
  return validateDocument(value, 'connector', options, NO_SOURCE, []) as ValidationResult<ConnectorDefinition>;
}

function invalidJson(error: { line: number; column: number; message: string }): { ok: false; errors: ValidationIssue[]; invalidJson: typeof error } {
  return { ok: false, errors: [{ path: '', line: error.line, column: error.column, message: `invalid JSON: ${error.message}` }], invalidJson: error };
}

function entries(value: unknown, path: string): { path: string; value: Record<string, unknown> }[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v, i) => (isRecord(v) ? [{ path: `${path}/${i}`, value: v }] : []));
}

function buildDoc(value: unknown, kind: 'file' | 'connector'): RegistryDoc {
  if (!isRecord(value)) return { connectors: [], composites: [], targets: [] };
  const connectors = kind === 'connector' ? [{ path: '', value }] : entries(value.connectors, '/connectors');
  const composites = kind === 'connector' ? [] : entries(value.composite_connectors, '/composite_connectors');
  const targets: Target[] = connectors.map((c) => ({ kind: 'connector', ...c }));
  for (const composite of composites) {
    for (const step of entries(composite.value.steps, `${composite.path}/steps`)) targets.push({ kind: 'step', ...step });
  }
  return { connectors, composites, targets };
}

function validateDocument(
  value: unknown,
  kind: 'file' | 'connector',
  options: ValidationOptions,
  locator: SourceLocator,
  duplicateKeys: DuplicateKey[],
): ValidationResult<RegistryFile | ConnectorDefinition> {
  const raw: RuleIssue[] = [...duplicateJsonKeyIssues(duplicateKeys), ...schemaIssues(value, kind)];
  const doc = buildDoc(value, kind);
  const report = (issue: RuleIssue) => raw.push(issue);
  for (const { rule } of RULES) rule(doc, options, report);

  if (raw.length === 0) {
    const record = value as Record<string, unknown>;
    return { ok: true, value: kind === 'file' ? normalizeRegistry(record) : normalizeConnector(record) };
  }
  const owners = [...doc.connectors, ...doc.composites].map((e) => ({ prefix: e.path, permalink: effectivePermalink(e.value) }));
  const issues = raw.map((issue, order) => ({ order, issue: toValidationIssue(issue, locator, owners) }));
  // Source order reads like a compiler's output; without positions keep the rules' order.
  issues.sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.order - b.order);
  const seen = new Set<string>();
  const errors: ValidationIssue[] = [];
  for (const { issue } of issues) {
    const id = `${issue.path}\u0000${issue.line}:${issue.column}\u0000${issue.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      errors.push(issue);
    }
  }
  return { ok: false, errors };
}

function effectivePermalink(value: Record<string, unknown>): string | undefined {
  const candidate = typeof value.permalink === 'string' ? value.permalink : typeof value.name === 'string' ? derivePermalink(value.name) : '';
  return candidate !== '' && isValidPermalink(candidate) ? candidate : undefined;
}

function toValidationIssue(issue: RuleIssue, locator: SourceLocator, owners: { prefix: string; permalink: string | undefined }[]): ValidationIssue {
  const at = issue.at;
  const position =
    at === 'value' ? locator.value(issue.path)
    : at === 'key' ? locator.key(issue.path)
    : 'index' in at ? locator.inString(issue.path, at.index)
    : at;
  const owner = owners.find((o) => issue.path === o.prefix || issue.path.startsWith(`${o.prefix}/`));
  return {
    path: issue.path,
    line: position.line,
    column: position.column,
    message: issue.message,
    ...(owner?.permalink !== undefined ? { permalink: owner.permalink } : {}),
  };
}
