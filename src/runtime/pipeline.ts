import type { CompiledConnector, CompiledRequest, CompiledStep } from '../registry/compile.js';
import { bytesValue } from '../templates/index.js';
import { decodeUtf8 } from './body-text.js';
import type { Call, StageEnd, StageEvent } from './context.js';
import { locate, RuntimeError, SCOPE, type StepRef } from './errors.js';
import { templateUser, type TemplateRun } from './render-template.js';
import { requireUserIfNeeded } from './stages/anonymous.js';
import { corsFor } from './stages/cors.js';
import { loadConnector } from './stages/load.js';
import { fixedRequest, requestPlan, type FixedRequest, type MergePlan } from './request-plan.js';
import { mergeParams } from './stages/merge.js';
import { checkMethod } from './stages/method.js';
import { applyAuth } from './stages/outbound-auth.js';
import { checkPathParams, resolvePathParams } from './stages/path-params.js';
import { answerPreflight, type PreflightAnswer } from './stages/preflight.js';
import { renderRequest } from './stages/render-request.js';
import { buildRequestBody } from './stages/request-body.js';
import { responseHeaderDict, transformResponse } from './stages/response-body.js';
import { responseHeaders } from './stages/response-headers.js';
import { resolveUser } from './stages/session.js';
import { checkStepStatus } from './stages/step-status.js';
import { lookupTenant } from './stages/tenant.js';
import { checkTenantRateLimit } from './stages/tenant-rate-limit.js';
import { fetchUpstream } from './stages/upstream.js';
import { checkUserRateLimit } from './stages/user-rate-limit.js';
import { resolveValues } from './stages/values.js';
import type { StepTiming } from './timing.js';

/**
 * The execute pipeline, declared once. Each stage is a function of the values earlier stages
 * produced (their names are the keys below) and returns its own value, or only checks and throws
 * the answer's error. The runner (`runStages`) alone stores values, times stages for observers
 * (`RuntimeDeps.stageObservers`: metrics and tracing wrap the pipeline there) and records where a
 * failure happened (`{ stage, step? }` on the error).
 *
 * Every call runs CALL_STAGES once. Then REQUEST_STAGES run for each upstream request: once for a
 * simple connector, once per step for a composite (steps in order; a failing step stops the run,
 * and later steps see earlier ones as `steps.<name>`).
 */

interface StageDef {
  name: string;
  /** Where the value goes; undefined for a check. */
  key: string | undefined;
  /** A defined value ends the call with it (the preflight answer). */
  ends: boolean;
  run(input: never): unknown;
}

/** An ordered list of stages whose input type grows by each stage's value. */
class StageList<T> {
  private constructor(readonly stages: readonly StageDef[]) {}

  static of<T>(): StageList<T> {
    return new StageList<T>([]);
  }

  /** A stage whose value later stages read as `key`. */
  value<K extends string, V>(name: string, key: K, run: (input: T) => V | Promise<V>): StageList<T & { readonly [P in K]: V }> {
    return new StageList([...this.stages, { name, key, ends: false, run: run as StageDef['run'] }]);
  }

  /** A stage that answers the call itself when it returns a value. */
  ending<K extends string, V>(name: string, key: K, run: (input: T) => V | undefined): StageList<T & { readonly [P in K]: V | undefined }> {
    return new StageList([...this.stages, { name, key, ends: true, run: run as StageDef['run'] }]);
  }

  /** A stage that passes or throws. */
  check(name: string, run: (input: T) => void | Promise<void> | undefined): StageList<T> {
    return new StageList([...this.stages, { name, key: undefined, ends: false, run: run as StageDef['run'] }]);
  }
}

/** Once per call: who is calling what, and may they. */
const CALL_STAGES = StageList.of<Call>()
  .value('tenant', 'tenant', lookupTenant)
  .ending('preflight', 'preflight', answerPreflight)
  .value('cors', 'cors', corsFor)
  .check('tenant-rate-limit', checkTenantRateLimit)
  .value('load', 'connector', loadConnector)
  .check('method', checkMethod)
  .value('merge', 'merged', mergeParams)
  .value('path-params', 'pathParams', resolvePathParams)
  .check('path-params-check', checkPathParams)
  .value('session', 'user', resolveUser)
  .check('user-rate-limit', checkUserRateLimit)
  .check('anonymous', requireUserIfNeeded)
  .value('values', 'values', resolveValues);

export type CallValues = StageValues<typeof CALL_STAGES>;

/** What each upstream request starts from, besides the call's values (made by `runRequests`). */
export interface RequestStart {
  spec: CompiledRequest;
  step: StepRef | undefined;
  plan: MergePlan;
  /** The request made once per connector revision when this call adds nothing to it (src/runtime/request-plan.ts). */
  fixed: FixedRequest | undefined;
  vars: Record<string, unknown>;
  templates: TemplateRun;
}

/** Once per upstream request. */
const REQUEST_STAGES = StageList.of<CallValues & RequestStart>()
  .value('render', 'rendered', renderRequest)
  .value('outbound-auth', 'authorized', applyAuth)
  .value('request-body', 'body', buildRequestBody)
  .value('upstream', 'fetched', fetchUpstream)
  .check('step-status', checkStepStatus)
  .value('response-body', 'result', transformResponse)
  .value('response-headers', 'answer', responseHeaders);

export type RequestValues = StageValues<typeof REQUEST_STAGES>;

type StageValues<L> = L extends StageList<infer T> ? T : never;

/** The stage names in the order they run (the call's, then each request's). */
export const STAGE_ORDER: readonly string[] = [...CALL_STAGES.stages, ...REQUEST_STAGES.stages].map((s) => s.name);

/**
 * What a run leaves behind, also when it fails: the values produced so far (execute shapes the
 * answer from them; Test Connection's debug record shows how far the request got).
 */
export interface Run {
  call: Partial<CallValues> & Call;
  /** The last upstream request's values (a simple connector's only one). */
  request: Partial<RequestValues> | undefined;
  preflight: PreflightAnswer | undefined;
  error: unknown;
}

/**
 * Runs the pipeline for one call. A call whose stages all answer without a promise (a cache hit
 * from memory: tenant, connector, session and values held by this process) gets its Run back
 * directly; the first stage that returns a promise makes the rest of the run asynchronous.
 */
export function runPipeline(given: Call): Run | Promise<Run> {
  const call = runValues(given);
  const observe = watchOf(call);
  const run: Run = { call, request: undefined, preflight: undefined, error: undefined };
  let preflight: unknown;
  try {
    preflight = runStages(CALL_STAGES.stages, call as unknown as Record<string, unknown>, observe, undefined, 0);
  } catch (err) {
    run.error = err;
    return run;
  }
  if (preflight instanceof Promise) return preflight.then((p: unknown) => afterCallStages(run, p, observe), (err: unknown) => failed(run, err));
  return afterCallStages(run, preflight, observe);
}

function afterCallStages(run: Run, preflight: unknown, observe: Observe | undefined): Run | Promise<Run> {
  if (preflight !== undefined) {
    run.preflight = preflight as PreflightAnswer;
    return run;
  }
  let requests: void | Promise<unknown>;
  try {
    requests = runRequests(run.call as CallValues, run, observe);
  } catch (err) {
    return failed(run, err);
  }
  return requests instanceof Promise ? requests.then(() => run, (err: unknown) => failed(run, err)) : run;
}

/** Every value a run holds: the call's, each stage's and each upstream request's. */
type AllValues = Call & CallValues & RequestStart & RequestValues;

/**
 * The object the stages read and the runner writes: every value the pipeline may hold, as a slot
 * made when the run starts (undefined until its stage runs). The stages' values are thus stored into
 * properties the object already has. Added one by one under computed names, some twenty of them, they
 * turned the object into a V8 dictionary (hash-table properties: a few µs per call to build, and a
 * hash lookup for every property read in every stage). The type requires a slot for every key, so
 * a stage added to the lists above cannot be missing here. Also copies a call's values for each
 * composite step (the request's slots are then the step's own).
 */
function runValues(v: Call & Partial<AllValues>): Call & Partial<AllValues> {
  const slots: { [K in keyof AllValues]: AllValues[K] | undefined } = {
    deps: v.deps,
    requestId: v.requestId,
    tenantId: v.tenantId,
    permalink: v.permalink,
    kind: v.kind,
    caller: v.caller,
    test: v.test,
    given: v.given,
    timing: v.timing,
    now: v.now,
    trace: v.trace,
    tenant: v.tenant,
    preflight: v.preflight,
    cors: v.cors,
    connector: v.connector,
    merged: v.merged,
    pathParams: v.pathParams,
    user: v.user,
    values: v.values,
    spec: v.spec,
    step: v.step,
    plan: v.plan,
    fixed: v.fixed,
    vars: v.vars,
    templates: v.templates,
    rendered: v.rendered,
    authorized: v.authorized,
    body: v.body,
    fetched: v.fetched,
    result: v.result,
    answer: v.answer,
  };
  return slots as Call & Partial<AllValues>;
}

function failed(run: Run, err: unknown): Run {
  run.error = err;
  return run;
}

/** Starts watching one stage; what it returns is called when the stage ends. */
type Observe = (stage: string, step: StepRef | undefined) => StageEnd;

/**
 * The watchers of one call: its trace when the call is sampled (told directly: a sampled call's
 * stages cost no closure or event object) and the observers that want it; undefined when none does.
 * An observer that throws is logged and never fails the call.
 */
function watchOf(call: Call): Observe | undefined {
  const trace = call.trace !== undefined && call.trace.recording ? call.trace : undefined;
  const all = call.deps.stageObservers;
  const observers = all.length === 0 ? all : all.filter((o) => o.wants === undefined || o.wants(call));
  if (observers.length === 0) return trace === undefined ? undefined : (stage, step) => trace.watchStage(stage, step);
  const warn = (err: unknown, stage: string) => call.deps.log.warn({ err: { message: (err as Error).message }, stage }, 'stage observer failed');
  return (stage, step) => {
    const traced = trace?.watchStage(stage, step);
    for (const o of observers) {
      if (o.start === undefined) continue;
      try {
        o.start({ call, stage, step });
      } catch (err) {
        warn(err, stage);
      }
    }
    const t0 = performance.now();
    return (failed, error, waited) => {
      traced?.(failed, error, waited);
      const event: StageEvent = { stage, step, tenant: call.tenantId, permalink: call.permalink, ms: performance.now() - t0, failed, error, waited, call };
      for (const o of observers) {
        try {
          o(event);
        } catch (err) {
          warn(err, stage);
        }
      }
    };
  };
}

/**
 * The runner: each stage in order from `from`, its value stored under its key. Stages that answer
 * without a promise are run without one (no await, no microtask); the first stage that returns a
 * promise makes the runner return a promise that goes on from the next stage once it settles.
 * Returns the ending stage's value when one ends the call, else undefined.
 */
function runStages(stages: readonly StageDef[], values: Record<string, unknown>, observe: Observe | undefined, step: StepRef | undefined, from: number): unknown {
  for (let i = from; i < stages.length; i++) {
    const stage = stages[i]!;
    const end = observe?.(stage.name, step);
    let out: unknown;
    try {
      out = stage.run(values as never);
    } catch (err) {
      throw stageFailed(stage, step, end, err, false);
    }
    if (out instanceof Promise) return settleStage(out, stages, i, values, observe, step, end);
    end?.(false, undefined, false);
    if (stage.key !== undefined) {
      values[stage.key] = out;
      if (stage.ends && out !== undefined) return out;
    }
  }
  return undefined;
}

/** Waits for stage `i`'s promise, stores its value and runs the stages after it. */
async function settleStage(pending: Promise<unknown>, stages: readonly StageDef[], i: number, values: Record<string, unknown>, observe: Observe | undefined, step: StepRef | undefined, end: StageEnd | undefined): Promise<unknown> {
  const stage = stages[i]!;
  let out: unknown;
  try {
    out = await pending;
  } catch (err) {
    throw stageFailed(stage, step, end, err, true);
  }
  end?.(false, undefined, true);
  if (stage.key !== undefined) {
    values[stage.key] = out;
    if (stage.ends && out !== undefined) return out;
  }
  return runStages(stages, values, observe, step, i + 1);
}

/** Tells the observers and records where the failure happened (`{ stage, step? }` on the error). */
function stageFailed(stage: StageDef, step: StepRef | undefined, end: StageEnd | undefined, err: unknown, waited: boolean): unknown {
  end?.(true, err, waited);
  return locate(err, step === undefined ? { stage: stage.name } : { stage: stage.name, step });
}

function templateRun(call: CallValues): TemplateRun {
  return { values: call.values, now: call.now, timing: call.timing };
}

/** Variables every field sees: `user.*`, `tenant_id` (docs/design.md#tenant_id-in-templates), `pathParams`. */
function baseVars(call: CallValues): Record<string, unknown> {
  return { user: templateUser(call.user), tenant_id: call.tenantId, pathParams: call.pathParams.values };
}

/**
 * A simple connector's one request (without a promise when every stage answers without one), or a
 * composite's steps. What a returned promise settles with is not read (afterCallStages waits for it only).
 */
function runRequests(call: CallValues, run: Run, observe: Observe | undefined): void | Promise<unknown> {
  const connector: CompiledConnector = call.connector;
  if (connector.kind === 'connector') {
    const plan = requestPlan(connector);
    const merged = call.merged!;
    const fixed = merged === plan.defaults && call.test === undefined ? fixedRequest(connector, plan, call.deps.upstream, call.deps.cache, connector) : undefined;
    // The call's own object, whose request slots are still empty (see runValues).
    const request = call as Partial<AllValues>;
    request.spec = connector;
    request.step = undefined;
    request.plan = merged;
    request.fixed = fixed;
    request.vars = baseVars(call);
    request.templates = templateRun(call);
    run.request = request;
    const done = runStages(REQUEST_STAGES.stages, request as unknown as Record<string, unknown>, observe, undefined, 0);
    return done instanceof Promise ? done : undefined;
  }
  return runSteps(call, connector.steps, run, observe);
}

/**
 * Composite connectors (docs/runtime.md#composite-connectors, docs/design.md#composite-connectors): each step through REQUEST_STAGES (no path
 * parameters, no caller overrides, never cached). A step answering 4xx/5xx or failing stops the
 * run; errors name the step and its 0-based index. The caller gets the last step's response.
 * Every step that started appears in X-Connector-Timing, a failed one too.
 */
async function runSteps(call: CallValues, steps: CompiledStep[], run: Run, observe: Observe | undefined): Promise<void> {
  if (steps.length === 0) throw new RuntimeError(500, 'INTERNAL', 'this composite connector has no steps', { stage: 'load' }).inArea(SCOPE.unexpected);
  const timing = call.timing;
  timing.steps = [];
  const body = call.caller.body;
  const contentType = call.caller.headers['content-type'];
  const request = {
    body_text: decodeUtf8(body),
    body_raw: body === undefined || body.length === 0 ? null : bytesValue(body),
    headers: contentType === undefined ? {} : { 'Content-Type': contentType },
    query_parameters: Object.fromEntries(call.caller.query),
  };
  const done: Record<string, unknown> = {};
  const templates = templateRun(call);
  for (const spec of steps) {
    const step: StepRef = { name: spec.name, index: spec.index };
    const stepTiming: StepTiming = { name: spec.name, index: spec.index, total_ms: 0, external_ms: 0 };
    const t0 = performance.now();
    const http0 = timing.httpMs;
    const plan = requestPlan(spec);
    const fixed = call.test === undefined ? fixedRequest(spec, plan, call.deps.upstream, undefined, undefined) : undefined;
    // A copy of the call's values per step (runValues, not `{ ...call }`: V8 spreads an object of
    // this many properties on its slow path, tens of µs per step), then the step's own.
    const vars = baseVars(call);
    vars.steps = done;
    vars.request = request;
    const values: Partial<AllValues> = runValues(call);
    values.spec = spec;
    values.step = step;
    values.plan = plan.defaults;
    values.fixed = fixed;
    values.vars = vars;
    values.templates = templates;
    run.request = values;
    try {
      await runStages(REQUEST_STAGES.stages, values as Record<string, unknown>, observe, step, 0);
    } finally {
      if (values.body !== undefined) stepTiming.external_host = values.authorized!.url.host;
      if (values.fetched !== undefined) stepTiming.status = values.fetched.response.status;
      stepTiming.total_ms = performance.now() - t0;
      stepTiming.external_ms = timing.httpMs - http0;
      timing.steps.push(stepTiming);
    }
    // Only later steps read `steps.<name>`: the last step's entry would never be read.
    if (spec === steps[steps.length - 1]) break;
    const result = values.result!;
    done[spec.name] = {
      body: typeof result.body === 'string' ? result.body : (decodeUtf8(result.body) ?? (result.body.length === 0 ? '' : null)),
      status_code: values.fetched!.response.status,
      headers: responseHeaderDict(values.fetched!.response.headers),
    };
  }
}
