import { EvalError } from './errors.js';

/**
 * Resource limits (docs/design.md#limits). A render has a step budget (loop iterations, calls, items a filter
 * walks) and a CPU-time deadline checked every few thousand steps, so `range(10**9)`-style loops,
 * `'x' * 10**9` and runaway recursion end with a `limit` TemplateError well under a second.
 */
export const LIMITS = {
  /** Final output of one render (docs/design.md#limits). */
  maxOutput: 1024 * 1024,
  /** Any intermediate string; above the 10 MiB upstream cap so a whole response body still fits. */
  maxString: 16 * 1024 * 1024,
  /** Items in one list built by an operator (`[0] * n`, `a + b`). */
  maxItems: 1_000_000,
  /**
   * Bytes a render may materialise through operations that copy (repetition, replace, join,
   * formatting, JSON in and out): bounds the memory one template can pin, e.g. in a namespace list.
   * Concatenation with `~`/`+` is not counted: V8 shares the parts.
   */
  maxAllocated: 256 * 1024 * 1024,
  /** Bits of an int built by `**` or `*`. */
  maxIntBits: 4096,
  /** Steps per render. */
  maxSteps: 2_000_000,
  /** CPU time per render, in ms (the process's CPU time; checked every `deadlineEvery` steps). */
  maxMillis: 500,
  deadlineEvery: 4096,
  /** Nesting of macro calls, recursive loops and caller() (Python's own limit is ~1000 frames). */
  maxDepth: 100,
  /** Nesting of JSON read by from_json or written by tojson/json_encode (Python's recursion limit). */
  maxJsonDepth: 1000,

  checkString(n: number): void {
    if (n > this.maxString) throw new EvalError(`string result is too large (${n} characters; limit ${this.maxString})`, 'limit');
    if (n >= 1024) charge(n >> 10);
  },
  checkItems(n: number): void {
    if (n > this.maxItems) throw new EvalError(`list result is too large (${n} items; limit ${this.maxItems})`, 'limit');
    if (n >= 1024) charge(n >> 10);
  },
  checkIntBits(v: bigint): void {
    const bits = (v < 0n ? -v : v).toString(2).length;
    if (bits > this.maxIntBits) throw new EvalError(`integer result is too large (limit ${this.maxIntBits} bits)`, 'limit');
  },
};

/**
 * The render in progress on this thread (renders are synchronous), so operations whose cost grows
 * with their input — building big strings or lists, parsing JSON — are charged to its step budget
 * and reach its deadline check even when they run in few loop iterations.
 */
export interface Budget {
  step(n: number): void;
  allocate(bytes: number): void;
}

let active: Budget | null = null;

export function setActiveBudget(budget: Budget | null): Budget | null {
  const previous = active;
  active = budget;
  return previous;
}

/** Charges work proportional to its size: 1 step per KiB built, per 1024 list items, per 256 bytes parsed. */
export function charge(steps: number): void {
  if (active !== null && steps > 0) active.step(steps);
}

/** Counts bytes materialised by a copying operation against the render's memory budget. */
export function allocate(bytes: number): void {
  if (active !== null && bytes >= 1024) active.allocate(bytes);
}

/** String.prototype.repeat with the string limit applied first (widths and fills come from templates). */
export function repeatStr(s: string, n: number): string {
  if (n <= 0) return '';
  LIMITS.checkString(s.length * n);
  allocate(s.length * n * 2);
  return s.repeat(n);
}
