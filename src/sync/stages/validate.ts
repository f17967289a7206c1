import type { RegistryFile } from '../../registry/model.js';
import { validateRegistryText, type ValidationOptions } from '../../registry/validate.js';
import type { RegistryBlob } from '../../github/index.js';
import { SyncFailure } from './failure.js';

/**
 * Stage 5: parse, validate and compile-check every template of the file in one pass (the
 * validator reports every problem with line and column). A missing file is the empty registry
 * (decision 19: it removes the link's connectors).
 */
export function validateRegistry(file: RegistryBlob | undefined, head: string, options: ValidationOptions): RegistryFile {
  if (file === undefined) return { connectors: [], composite_connectors: [] };
  const result = validateRegistryText(file.text, options);
  if (!result.ok) throw new SyncFailure('failure', result.errors.map((e) => ({ ...e })), head);
  return result.value;
}
