import type { Fetched } from '../context.js';
import { RuntimeError, type StepRef } from '../errors.js';

/** Stage `step-status` (docs/design.md#composite-connectors): a composite step answering 4xx/5xx stops the run. */
export function checkStepStatus(input: { step: StepRef | undefined; fetched: Fetched }): void {
  const status = input.fetched.response.status;
  if (input.step !== undefined && status >= 400) {
    throw new RuntimeError(502, 'UPSTREAM_HTTP_ERROR', `step "${input.step.name}" answered ${status}`);
  }
}
