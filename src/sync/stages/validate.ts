import type { RegistryFile } from '../../registry/model.js';
import { decodeUtf8Source } from '../../registry/json-source.js';
import { validateRegistryText, type ValidationOptions } from '../../registry/validate.js';
import type { RegistryBlob } from '../../github/index.js';
import { SyncFailure } from './failure.js';

/**
 * Stage 5: decode (strict UTF-8, like `gatehouse validate`: a Latin-1 or UTF-16 file is reported
 * with the position of its first foreign byte, never synced with U+FFFD standing in for its
 * characters), parse, validate and compile-check every template of the file in one pass (the
 * validator reports every problem with line and column). A missing file is the empty registry
 * (docs/design.md#removing-connectors: it removes the link's connectors). Returns the content and the decoded text.
 */
export function validateRegistry(file: RegistryBlob | undefined, head: string, options: ValidationOptions, filePath?: string): { content: RegistryFile; text: string | undefined } {
  if (file === undefined) return { content: { connectors: [], composite_connectors: [] }, text: undefined };
  // Every error names the file it is in (the link's `path`): a monorepo may hold several registries.
  const inFile = filePath === undefined ? {} : { file: filePath };
  const decoded = decodeUtf8Source(file.bytes);
  if (!decoded.ok) throw new SyncFailure('failure', [{ path: '', ...decoded.error, ...inFile }], head);
  const result = validateRegistryText(decoded.text, options);
  if (!result.ok) throw new SyncFailure('failure', result.errors.map((e) => ({ ...e, ...inFile })), head);
  return { content: result.value, text: decoded.text };
}
