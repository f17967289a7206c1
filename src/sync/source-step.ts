import { Counter, type Registry } from 'prom-client';
import { decodeUtf8Source } from '../registry/json-source.js';
import type { RegistryFile } from '../registry/model.js';
import { responseJsonWarnings } from '../registry/response-json.js';
import { validateRegistryText, type ValidationOptions } from '../registry/validate.js';
import type { SyncError } from './model.js';
import { claimedPermalinks, type ClaimedPermalink } from './plan-preview.js';
import { templateReferences, type TemplateReference } from './warnings.js';
import type { RegistryBlob, RegistrySource } from './source.js';

/**
 * The source step of a sync, shared by every link that reads the same file: resolve the branch
 * head, read the registry file at that commit, then decode (strict UTF-8), parse, validate and
 * compile-check it. A commit's file never changes and a blob's verdict depends only on its bytes,
 * so each file is read once per commit and validated once per blob SHA in this process, however
 * many tenants link the repository; the apply step (pipeline.ts) then runs per link. Concurrent
 * callers share one request (the head too: ten jobs asking at once get one answer, as fresh as
 * any of them could have had). Failures are never cached.
 */

export type RegistryArtifact =
  /** `warnings`: the file's own warnings (a JSON-typed response template that renders no JSON); secret and variable names are checked per tenant from `references`. */
  | { ok: true; content: RegistryFile; text: string | undefined; references: TemplateReference[]; warnings: SyncError[] }
  /** `claimed`: the permalinks the file's entries claim, so collisions are reported with the errors. */
  | { ok: false; errors: SyncError[]; claimed: ClaimedPermalink[] };

const EMPTY: RegistryArtifact = { ok: true, content: { connectors: [], composite_connectors: [] }, text: undefined, references: [], warnings: [] };

/** Room for the files and verdicts of recent commits; a registry file is usually a few kB. */
const CACHE_BYTES = 64 * 1024 * 1024;
const CACHE_ENTRIES = 256;

export interface SourceStepMetrics {
  validations: Counter;
}

export function sourceStepMetrics(registry: Registry): SourceStepMetrics {
  const existing = registry.getSingleMetric('gatehouse_registry_validations_total') as Counter | undefined;
  return {
    validations: existing ?? new Counter({
      name: 'gatehouse_registry_validations_total',
      help: 'Registry files decoded, parsed and validated by the sync source step (once per blob SHA)',
      registers: [registry],
    }),
  };
}

export class SourceStep {
  private readonly heads = new Map<string, Promise<string>>();
  private readonly files = new BoundedCache<RegistryBlob | undefined>(CACHE_ENTRIES, CACHE_BYTES, (f) => f?.bytes.length ?? 0);
  private readonly artifacts = new BoundedCache<RegistryArtifact>(CACHE_ENTRIES, CACHE_BYTES, (a) => (a.ok ? (a.text?.length ?? 0) * 3 : 1024));

  constructor(
    private readonly validation: ValidationOptions,
    private readonly metrics: SourceStepMetrics,
  ) {}

  /** The branch head now: callers asking while a request is in flight share its answer. */
  head(source: RegistrySource): Promise<string> {
    let pending = this.heads.get(source.id);
    if (pending === undefined) {
      pending = source.resolveHead().finally(() => this.heads.delete(source.id));
      this.heads.set(source.id, pending);
    }
    return pending;
  }

  /** The registry file at `commit` (undefined: the commit has none), read once per commit. */
  file(source: RegistrySource, commit: string): Promise<RegistryBlob | undefined> {
    return this.files.get(`${source.id}@${commit}`, () => source.readFile(commit));
  }

  /** The file's verdict, computed once per blob SHA. A missing file is the empty registry (it removes the link's connectors). */
  validate(file: RegistryBlob | undefined): Promise<RegistryArtifact> {
    if (file === undefined) return Promise.resolve(EMPTY);
    return this.artifacts.get(file.blobSha, async () => {
      this.metrics.validations.inc();
      return validateBytes(file.bytes, this.validation);
    });
  }
}

/**
 * The largest registry file the source step reads: thousands of connectors fit in a few hundred
 * kB; a bigger file is refused at the position where it crosses the limit instead of being parsed.
 */
export const MAX_REGISTRY_BYTES = 5 * 1024 * 1024;

/** Decode strictly as UTF-8 (like `gatehouse validate`: a Latin-1 file is reported at its first foreign byte), parse, validate. */
export function validateBytes(bytes: Buffer, options: ValidationOptions): RegistryArtifact {
  if (bytes.length > MAX_REGISTRY_BYTES) return { ok: false, errors: [tooLarge(bytes)], claimed: [] };
  const decoded = decodeUtf8Source(bytes);
  if (!decoded.ok) return { ok: false, errors: [{ path: '', ...decoded.error }], claimed: [] };
  const result = validateRegistryText(decoded.text, options);
  if (!result.ok) return { ok: false, errors: result.errors.map((e) => ({ ...e })), claimed: claimedPermalinks(decoded.text) };
  return { ok: true, content: result.value, text: decoded.text, references: templateReferences(decoded.text), warnings: responseJsonWarnings(decoded.text, 'file') };
}

function tooLarge(bytes: Buffer): SyncError {
  const before = bytes.subarray(0, MAX_REGISTRY_BYTES).toString('utf8');
  const lastBreak = before.lastIndexOf('\n');
  let line = 1;
  for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) line++;
  const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return {
    path: '',
    line,
    column: before.length - lastBreak,
    message: `the file is ${mb(bytes.length)}, over the ${mb(MAX_REGISTRY_BYTES)} a registry file may have (it crosses the limit here): split it across repositories or paths, or remove unused connectors`,
  };
}

/** Promise cache, oldest evicted first, bounded by entries and by the size of settled values. */
class BoundedCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit.value;
    const entry = { value: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = this.sizeOf(v);
        this.bytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    this.evict();
    return entry.value;
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) return;
      if (this.entries.size === 1) return;
      this.entries.delete(key);
      this.bytes -= e.bytes;
    }
  }
}
