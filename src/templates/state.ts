import { EvalError } from './errors.js';
import { LIMITS } from './limits.js';
import { RENDER_ON_COPIES, privateCopy } from './mutation.js';
import { Markup, type Runtime } from './values.js';

/**
 * The process's CPU time in ms. A render is synchronous, so the CPU the process spends while it runs
 * is the render's (and the garbage collector's): a budget in CPU time stops an expensive template
 * just as a wall-clock budget would, without stopping a legitimate one because the machine was busy
 * with other processes.
 */
function cpuMillis(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** One variable scope: the template's top level, a loop iteration, a macro call, a `with` block. */
export class Frame {
  // Frames hold a handful of names (a loop target and `loop`, a macro's parameters): parallel
  // arrays are cheaper to create and search than a Map at that size.
  private names: string[] | null = null;
  private values: unknown[] | null = null;
  constructor(readonly parent: Frame | null) {}
  set(name: string, value: unknown): void {
    if (this.names === null) {
      this.names = [name];
      this.values = [value];
      return;
    }
    const i = this.names.indexOf(name);
    if (i >= 0) this.values![i] = value;
    else {
      this.names.push(name);
      this.values!.push(value);
    }
  }
  /** A fresh scope holding two names (a loop target and `loop`). */
  static with2(parent: Frame, n1: string, v1: unknown, n2: string, v2: unknown): Frame {
    const fr = new Frame(parent);
    fr.names = [n1, n2];
    fr.values = [v1, v2];
    return fr;
  }
  /** The value bound here, or undefined. */
  own(name: string): unknown {
    if (this.names === null) return undefined;
    const i = this.names.indexOf(name);
    return i >= 0 ? this.values![i] : undefined;
  }
}

/** A compiled expression: a closure over the render's state and the current scope. */
export type Expr = (s: State, f: Frame) => unknown;
/** A compiled statement: writes to `out`. */
export type Stmt = (s: State, f: Frame, out: Out) => void;
/** Binds a value to an assignment target (`set`, `for` and `with` targets). */
export type Assigner = (s: State, f: Frame, value: unknown) => void;

/** Text a block captured (a macro body, `set` block, recursive loop): Markup when autoescaping, as Jinja2 marks it safe. */
export function captured(s: State, text: string): string | Markup {
  return s.autoescape ? new Markup(text) : text;
}

/** An output buffer with the output cap applied as it grows. */
export class Out {
  // Plain concatenation: V8 builds a rope and flattens it once, cheaper than an array and join.
  private text = '';
  push(s: string): void {
    const t = this.text + s;
    if (t.length > LIMITS.maxOutput) {
      throw new EvalError(`template output is too large (limit ${LIMITS.maxOutput} bytes)`, 'limit');
    }
    this.text = t;
  }
  toString(): string {
    return this.text;
  }
}

/** What jwt_encode needs from the render: signatures already computed and the ones still missing. */
export interface JwtContext {
  signed: Map<string, string>;
  pending: Map<string, JwtRequest>;
}

export interface JwtRequest {
  payload: string; // the JSON payload exactly as PyJWT would serialise it
  key: string;
  algorithm: string;
  header: Record<string, unknown>;
  line: number;
  column: number;
}

/** Per-render state: the context, the budgets and the autoescape mode in force. */
export class State implements Runtime {
  steps = 0;
  private allocated = 0;
  private nextDeadlineCheck = LIMITS.deadlineEvery;
  /** Set at the first deadline check, so short renders never read the clock. */
  private started = 0;
  depth = 0;
  /** The normalised template source, to "leave the original expression" for an unknown name (docs/design.md#autoescape-and-unknown-names). */
  source = '';
  /** Position of the call being evaluated (jwt_encode reports signing errors there). */
  callLine = 1;
  callColumn = 1;
  /** Context values copied for this render, when it works on copies (see mutation.ts). */
  private readonly copies: Map<object, unknown> | null;

  constructor(
    readonly vars: Record<string, unknown>,
    readonly secrets: ReadonlyMap<string, string> | undefined,
    readonly variables: ReadonlyMap<string, string> | undefined,
    readonly now: number,
    public autoescape: boolean,
    readonly jwt: JwtContext | null,
    /** The render may change lists and dicts, so it reads context values through private copies. */
    onCopies = false,
  ) {
    this.copies = onCopies ? new Map() : null;
  }

  get onCopies(): boolean {
    return this.copies !== null;
  }

  /**
   * A value that is shared (context data) or cannot be changed in place (the plain objects of a
   * JSON parse) as this render sees it: itself, or its private copy when the render mutates.
   */
  own(v: unknown): unknown {
    return this.copies === null ? v : privateCopy(v, this.copies, this);
  }

  beforeMutation(): void {
    if (this.copies === null) throw RENDER_ON_COPIES;
  }

  step(n = 1): void {
    this.steps += n;
    if (this.steps >= this.nextDeadlineCheck) {
      if (this.steps > LIMITS.maxSteps) {
        throw new EvalError(`template ran too long (more than ${LIMITS.maxSteps} steps); reduce the loops or the data it walks`, 'limit');
      }
      const now = cpuMillis();
      if (this.started === 0) this.started = now - 1; // the first 4096 steps are not timed; they are cheap
      else if (now - this.started > LIMITS.maxMillis) {
        throw new EvalError(`template ran too long (more than ${LIMITS.maxMillis} ms)`, 'limit');
      }
      this.nextDeadlineCheck = this.steps + LIMITS.deadlineEvery;
    }
  }

  allocate(bytes: number): void {
    this.allocated += bytes;
    if (this.allocated > LIMITS.maxAllocated) {
      throw new EvalError(`template built too much data (more than ${LIMITS.maxAllocated >> 20} MiB copied); reduce repetition, replace or join on large values`, 'limit');
    }
  }

  checkSize(n: number): void {
    LIMITS.checkString(n);
  }

  enter(): void {
    if (++this.depth > LIMITS.maxDepth) {
      throw new EvalError(`maximum recursion depth exceeded (${LIMITS.maxDepth} nested macro calls or recursive loops)`, 'limit');
    }
  }

  leave(): void {
    this.depth--;
  }
}
