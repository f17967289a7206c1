import type { Cidr } from '../../config.js';

/** Options every rule receives; the URL rules honour them exactly like the run-time guard (docs/design.md#address-guard). */
export interface RuleOptions {
  allowHttp: boolean;
  allowCidrs: Cidr[];
}

/**
 * A problem found by the schema or a rule, before positions are attached. `at` says where the
 * caret goes: the value's start, the member's key, or a character inside a string value.
 */
export interface RuleIssue {
  path: string;
  message: string;
  at: 'value' | 'key' | { index: number } | { line: number; column: number };
}

/** One connector-like entry a rule looks at: a simple connector, or one step of a composite. */
export interface Target {
  kind: 'connector' | 'step';
  /** Pointer of the connector or step object. */
  path: string;
  value: Record<string, unknown>;
}

export type Rule = (doc: RegistryDoc, options: RuleOptions, report: (issue: RuleIssue) => void) => void;

/**
 * The parsed document as rules see it: untyped (it may be invalid), with the pointers of its
 * connector objects and composite objects already located.
 */
export interface RegistryDoc {
  /** `connectors` entries that are objects, with their pointers. */
  connectors: { path: string; value: Record<string, unknown> }[];
  /** `composite_connectors` entries that are objects. */
  composites: { path: string; value: Record<string, unknown> }[];
  /** Connectors plus every step object of every composite. */
  targets: Target[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `table[key]` for tables indexed by document data: a key like "constructor" or "__proto__" is never found. */
export function own<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
