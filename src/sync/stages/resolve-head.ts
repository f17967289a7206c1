import type { SourceStep } from '../source-step.js';
import type { RegistrySource } from '../source.js';

/** Stage 1: the commit the linked branch points at now (docs/design.md#latest-wins: the sync applies the head). */
export function resolveHead(step: SourceStep, source: RegistrySource): Promise<string> {
  return step.head(source);
}
