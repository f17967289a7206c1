import type { SourceStep } from '../source-step.js';
import type { RegistryBlob, RegistrySource } from '../source.js';

/** Stage 3: the registry file at the head commit with its blob SHA (read once per commit); undefined when the commit has none. */
export function fetchRegistry(step: SourceStep, source: RegistrySource, head: string): Promise<RegistryBlob | undefined> {
  return step.file(source, head);
}
