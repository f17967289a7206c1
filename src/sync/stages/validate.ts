import type { RegistryFile } from '../../registry/model.js';
import type { SourceStep } from '../source-step.js';
import type { RegistryBlob } from '../source.js';
import { SyncFailure } from './failure.js';

/**
 * Stage 5: the file's verdict from the source step — decoded strictly as UTF-8, parsed,
 * validated and compile-checked in one pass, once per blob SHA (every problem with line and
 * column). A missing file is the empty registry (docs/design.md#removing-connectors: it removes the link's connectors).
 */
export async function validateRegistry(step: SourceStep, file: RegistryBlob | undefined, head: string, filePath?: string): Promise<{ content: RegistryFile; text: string | undefined }> {
  const artifact = await step.validate(file);
  // Every error names the file it is in (the link's `path`): a monorepo may hold several registries.
  const inFile = filePath === undefined ? {} : { file: filePath };
  if (!artifact.ok) throw new SyncFailure('failure', artifact.errors.map((e) => ({ ...e, ...inFile })), head);
  return { content: artifact.content, text: artifact.text };
}
