import type { CompiledConnector } from '../../registry/compile.js';
import type { Call, RuntimeTenant } from '../context.js';
import { RuntimeError } from '../errors.js';

/** Stage `load`: the compiled connector from the in-memory registry view (compiled at activation). */
export function loadConnector(input: Pick<Call, 'deps' | 'tenantId' | 'permalink' | 'kind' | 'given'> & { tenant: RuntimeTenant | undefined }): CompiledConnector | Promise<CompiledConnector> {
  // Test Connection of an unsaved connector brings its own.
  if (input.given?.compiled !== undefined) return input.given.compiled;
  const { permalink, kind } = input;
  if (input.tenant === undefined) throw new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no connector "${permalink}" in this tenant`);
  // A connector this process holds costs no promise.
  const held = input.deps.connectors.held?.(input.tenantId, permalink);
  if (held !== undefined) return found(held.entry, permalink, kind);
  return input.deps.connectors.get(input.tenantId, permalink).then((entry) => found(entry, permalink, kind));
}

function found(entry: { compiled: CompiledConnector } | undefined, permalink: string, kind: Call['kind']): CompiledConnector {
  if (entry === undefined || entry.compiled.kind !== kind) {
    throw new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no ${kind === 'composite' ? 'composite connector' : 'connector'} "${permalink}" in this tenant`);
  }
  return entry.compiled;
}
