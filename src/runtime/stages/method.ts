import type { CompiledConnector } from '../../registry/compile.js';
import type { Call } from '../context.js';
import { RuntimeError } from '../errors.js';

/** Stage `method`: the caller's method must be the connector's (docs/runtime.md#endpoints); composites are called with POST. */
export function checkMethod(input: Pick<Call, 'caller'> & { connector: CompiledConnector }): void {
  const expected = input.connector.kind === 'composite' ? 'POST' : input.connector.method;
  if (input.caller.method !== expected) {
    const detail = input.connector.kind === 'composite' ? 'composite connectors are called with POST' : `this connector is called with ${expected}, not ${input.caller.method}`;
    throw new RuntimeError(405, 'METHOD_NOT_ALLOWED', detail).withHeaders({ allow: expected });
  }
}
