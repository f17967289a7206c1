import type { RegistryFile } from '../../registry/model.js';
import type { SourceStep } from '../source-step.js';
import type { SyncError } from '../model.js';
import type { ClaimedPermalink } from '../plan-preview.js';
import type { RegistryBlob } from '../source.js';
import type { TemplateReference } from '../warnings.js';
import { SyncFailure } from './failure.js';

/**
 * Stage 5: the file's verdict from the source step — decoded strictly as UTF-8, parsed,
 * validated and compile-checked in one pass, once per blob SHA (every problem with line and
 * column); an invalid file's collisions with the tenant's connectors are reported with its
 * errors. A missing file is the empty registry (docs/design.md#removing-connectors: it removes the link's connectors).
 */
export async function validateRegistry(
  step: SourceStep,
  file: RegistryBlob | undefined,
  head: string,
  /** The tenant's collisions with the permalinks an invalid file claims: reported with its errors, in one pass. */
  collisions: (claimed: ClaimedPermalink[]) => Promise<SyncError[]>,
  /** The link's `path`: every validation error names the file it is in (a monorepo may hold several registries). */
  filePath?: string,
): Promise<{ content: RegistryFile; text: string | undefined; references: TemplateReference[]; warnings: SyncError[] }> {
  const artifact = await step.validate(file);
  if (!artifact.ok) {
    const inFile = filePath === undefined ? {} : { file: filePath };
    throw new SyncFailure('failure', [...artifact.errors.map((e) => ({ ...e, ...inFile })), ...(await collisions(artifact.claimed))], head);
  }
  return { content: artifact.content, text: artifact.text, references: artifact.references, warnings: artifact.warnings };
}
