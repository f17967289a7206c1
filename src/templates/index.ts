import { TEMPLATE_FIELDS, analyze, isAutoescapeField, type TemplateField } from './analyze.js';
import { EvalError, TemplateError } from './errors.js';
import { compileStmt } from './statements.js';
import { signJwt } from './jwt.js';
import { normalizeSource } from './lexer.js';
import { LIMITS, setActiveBudget } from './limits.js';
import { RENDER_ON_COPIES } from './mutation.js';
import { parseTemplate } from './parse.js';
import { Frame, Out, State, type JwtContext, type Stmt } from './state.js';
import { str } from './protocols.js';
import {
  asString, dictGet, dictKeys, isDict, MISSING, PyBytes, PyFunction, TemplateObject, type DictLike,
} from './values.js';

/**
 * Public contract of the template engine (team PLAN.md, "Templates (A)"). Everything else in this
 * folder is internal.
 */

export type { TemplateField } from './analyze.js';
export { TEMPLATE_FIELDS, isAutoescapeField } from './analyze.js';
export { TemplateError, JwtSigningError, type TemplateErrorKind } from './errors.js';

export interface CompiledTemplate {
  readonly source: string;
  readonly field: TemplateField;
  /** No template syntax: render() returns source. */
  readonly isLiteral: boolean;
  /** Reads `user` (docs/design.md#anonymous-callers). */
  readonly referencesUser: boolean;
  /** Literal args of get_secret(...). */
  readonly secretNames: readonly string[];
  /** Literal args of get_variable(...). */
  readonly variableNames: readonly string[];
  /** Keys read as `pathParams.<key>` / `pathParams['<key>']` (additive to the contract). */
  readonly pathParamNames: readonly string[];
  /** Names read without being bound by the template itself (context names, globals, unknown names). */
  readonly freeNames: readonly string[];
  /** Calls jwt_encode (jose signs asynchronously). */
  readonly usesAsync: boolean;
  /** Output is HTML-escaped (request/response bodies, docs/design.md#autoescape-and-unknown-names). */
  readonly autoescape: boolean;
  /** Throws TemplateError; not for usesAsync templates. */
  render(ctx: RenderContext): string;
  renderAsync(ctx: RenderContext): Promise<string>;
}

export interface RenderContext {
  /** Plain JSON-like data: user, tenant_id, pathParams, body_text, response, steps, request … */
  vars: Record<string, unknown>;
  /** Resolved beforehand from secretNames; a missing name leaves the literal expression. */
  secrets?: ReadonlyMap<string, string>;
  variables?: ReadonlyMap<string, string>;
  /** Unix seconds, frozen per request. */
  now?: number;
}

const MAX_JWT_PASSES = 8;

class Compiled implements CompiledTemplate {
  readonly isLiteral: boolean;
  readonly referencesUser: boolean;
  readonly secretNames: readonly string[];
  readonly variableNames: readonly string[];
  readonly pathParamNames: readonly string[];
  readonly freeNames: readonly string[];
  readonly usesAsync: boolean;
  readonly autoescape: boolean;
  private readonly program: Stmt | null;
  private readonly normalized: string;
  /** A render called a mutating method: renders start on private copies of the context (mutation.ts). */
  private mutates = false;

  constructor(
    readonly source: string,
    readonly field: TemplateField,
  ) {
    this.normalized = normalizeSource(source);
    this.autoescape = isAutoescapeField(field);
    const root = parseTemplate(source);
    const facts = guardDepth(() => analyze(root, field));
    this.referencesUser = facts.referencesUser;
    this.secretNames = frozenNames(facts.secretNames);
    this.variableNames = frozenNames(facts.variableNames);
    this.pathParamNames = frozenNames(facts.pathParamNames);
    this.freeNames = frozenNames(facts.freeNames);
    this.usesAsync = facts.usesAsync;
    this.isLiteral = this.normalized === source && !/\{[{%#]/.test(source);
    this.program = this.isLiteral ? null : guardDepth(() => compileStmt(root));
  }

  render(ctx: RenderContext): string {
    if (this.program === null) return this.source;
    if (this.usesAsync) {
      throw new TemplateError('runtime', 'this template calls jwt_encode(), which signs asynchronously: use renderAsync()', 1, 1);
    }
    return this.run(ctx, ctx.now ?? Date.now() / 1000, null);
  }

  async renderAsync(ctx: RenderContext): Promise<string> {
    if (!this.usesAsync) return this.render(ctx);
    // `now` is frozen so every pass renders the same claims and the memoised signatures match.
    const now = ctx.now ?? Date.now() / 1000;
    const jwt: JwtContext = { signed: new Map(), pending: new Map() };
    for (let pass = 0; pass < MAX_JWT_PASSES; pass++) {
      jwt.pending.clear();
      let output: string | undefined;
      let failure: unknown;
      try {
        output = this.run(ctx, now, jwt);
      } catch (err) {
        failure = err;
      }
      if (jwt.pending.size === 0) {
        if (failure !== undefined) throw failure;
        return output!;
      }
      // A pass that still needed signatures ran on placeholders; its output/error is discarded.
      const pending = [...jwt.pending];
      const signed = await Promise.all(pending.map(([, req]) => signJwt(req)));
      pending.forEach(([key], i) => jwt.signed.set(key, signed[i]!));
    }
    throw new TemplateError('limit', `jwt_encode() calls are nested more than ${MAX_JWT_PASSES} deep`, 1, 1);
  }

  private run(ctx: RenderContext, now: number, jwt: JwtContext | null): string {
    if (!this.mutates) {
      try {
        return this.pass(ctx, now, jwt, false);
      } catch (err) {
        if (err !== RENDER_ON_COPIES) throw err;
        // A mutating method was reached before anything changed: start over on private copies.
        this.mutates = true;
      }
    }
    return this.pass(ctx, now, jwt, true);
  }

  /** One run of the program; on shared data, a mutating method ends it with RENDER_ON_COPIES. */
  private pass(ctx: RenderContext, now: number, jwt: JwtContext | null, onCopies: boolean): string {
    const state = new State(ctx.vars ?? {}, ctx.secrets, ctx.variables, now, this.autoescape, jwt, onCopies);
    state.source = this.normalized;
    const out = new Out();
    const previous = setActiveBudget(state);
    try {
      this.program!(state, new Frame(null), out);
    } catch (err) {
      if (err === RENDER_ON_COPIES) throw err;
      throw redactSecrets(asTemplateError(err), ctx.secrets);
    } finally {
      setActiveBudget(previous);
    }
    const text = out.toString();
    if (text.length > LIMITS.maxOutput / 4 && Buffer.byteLength(text) > LIMITS.maxOutput) {
      throw new TemplateError('limit', `template output is too large (limit ${LIMITS.maxOutput} bytes)`, 1, 1);
    }
    return text;
  }
}

const NO_NAMES: readonly string[] = Object.freeze([]);

/** Most templates read no secret, variable or path parameter: they share one empty list; others keep an exact-size copy. */
function frozenNames(names: string[]): readonly string[] {
  return names.length === 0 ? NO_NAMES : Object.freeze(names.slice());
}

/**
 * Error messages quote values the way Jinja2 does ("'dict object' has no attribute 'x'"), and the
 * runtime returns them to callers, so a secret used as a key must not survive into one.
 */
function redactSecrets(err: TemplateError, secrets: ReadonlyMap<string, string> | undefined): TemplateError {
  if (!secrets || secrets.size === 0) return err;
  let message = err.message;
  for (const value of secrets.values()) {
    if (value.length >= 4 && message.includes(value)) message = message.split(value).join('***');
  }
  if (message === err.message) return err;
  const redacted = new TemplateError(err.kind, message, err.line, err.column);
  Object.setPrototypeOf(redacted, Object.getPrototypeOf(err));
  return redacted;
}

/** Deeply nested source can exhaust the JS stack while it is checked or compiled. */
function guardDepth<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new TemplateError('limit', 'template is nested too deeply', 1, 1);
    throw err;
  }
}

function asTemplateError(err: unknown): TemplateError {
  if (err instanceof TemplateError) return err;
  if (err instanceof EvalError) return new TemplateError(err.kind, err.message, 1, 1);
  if (err instanceof RangeError) {
    const tooBig = /invalid (string|array) length/i.test(err.message);
    return new TemplateError('limit', tooBig ? 'a value grew too large' : 'maximum recursion depth exceeded', 1, 1);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new TemplateError('runtime', `internal template error: ${message}`, 1, 1);
}

// ------------------------------------------------------------------ compile once (bounded memo)

const MEMO_LIMIT = 5000;
const FIELDS: ReadonlySet<string> = new Set(TEMPLATE_FIELDS);
const memo = new Map<string, CompiledTemplate>();

/** Parses, checks and prepares a template; memoised by (field, source). Throws TemplateError. */
export function compileTemplate(source: string, field: TemplateField): CompiledTemplate {
  if (typeof source !== 'string') throw new TypeError('compileTemplate: source must be a string');
  if (!FIELDS.has(field)) throw new TypeError(`compileTemplate: unknown template field ${JSON.stringify(field)}`);
  const key = field + '\u0000' + source;
  const hit = memo.get(key);
  if (hit !== undefined) {
    // refresh recency
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const compiled = new Compiled(source, field);
  memo.set(key, compiled);
  if (memo.size > MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  return compiled;
}

// ------------------------------------------------------------------ context value helpers

/** body_raw / request.body_raw: renders as Python bytes (`b'…'`). */
export function bytesValue(buf: Uint8Array): unknown {
  return new PyBytes(Uint8Array.from(buf));
}

class ProfileFields extends TemplateObject {
  readonly typeName = 'ProfileFields';
  constructor(private readonly map: DictLike) {
    super();
  }
  getAttr(name: string): unknown {
    if (name !== 'by_id') return MISSING;
    return new PyFunction(
      'by_id',
      (call) => {
        if (call.args.length !== 1 || call.kwargs.size > 0) throw new EvalError('by_id() takes exactly one argument, the profile field id');
        const id = asString(call.args[0]) ?? str(call.args[0]);
        const v = dictGet(this.map, id);
        return v === MISSING ? null : v;
      },
      '<bound method ProfileFields.by_id>',
    );
  }
  repr(): string {
    return `<ProfileFields ${dictKeys(this.map).length} fields>`;
  }
  override privateCopy(copy: (v: unknown) => unknown): ProfileFields {
    return new ProfileFields(copy(this.map) as DictLike);
  }
}

/** user.profile_fields: `.by_id(42)` reads the field with id "42" (None when the user lacks it). */
export function profileFields(map: Record<string, unknown>): unknown {
  return new ProfileFields(isDict(map) ? map : {});
}
