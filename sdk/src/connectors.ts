/**
 * Gatehouse connectors client for browser widgets (and Node 20+, which has `fetch`): calls
 * `/t/{tenant}/connectors/{permalink}/execute` without holding any credential. Zero dependencies.
 */
export { createConnectorsClient, DEFAULT_TIMEOUT_MS, MAX_PATH_PARAM_LENGTH, type ClientOptions, type ConnectorsClient } from './client.js';
export { ConnectorBoundaryError, ConnectorExecuteError, ConnectorFixtureError, ConnectorNetworkError, type ExecuteErrorFields } from './errors.js';
export type { FixtureCall, FixtureRequest, FixtureResponse, FixturesDocument } from './fixtures.js';
export type * from './types.js';
