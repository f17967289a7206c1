import { ConnectorFixtureError } from './errors.js';
import type { HttpMethod } from './types.js';

/**
 * Mock mode: recorded answers (`gatehouse fixtures record`) replayed without any network. A
 * fixtures document holds only what the widget itself sent and received — never credentials,
 * session tokens or response headers.
 */

export interface FixtureRequest {
  queryParams?: Record<string, string>;
  pathParams?: Record<string, string>;
  payload?: unknown;
}

export interface FixtureResponse {
  status: number;
  /** The answer's Content-Type; JSON types carry the parsed `body`, others its text. */
  contentType?: string;
  body: unknown;
}

export interface FixtureCall {
  /** What the call sent; omitted = the answer for any call of this permalink without an exact match. */
  request?: FixtureRequest;
  response: FixtureResponse;
}

export interface FixturesDocument {
  gatehouse_fixtures: 1;
  tenant?: string;
  connectors?: Record<string, { method: HttpMethod; calls: FixtureCall[] }>;
  composites?: Record<string, { calls: FixtureCall[] }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkCalls(calls: unknown, where: string): void {
  if (!Array.isArray(calls)) throw new ConnectorFixtureError(`${where}.calls must be an array of {request, response}`);
  calls.forEach((call: unknown, i) => {
    const at = `${where}.calls[${i}]`;
    if (!isObject(call)) throw new ConnectorFixtureError(`${at} must be an object {request, response}`);
    if (call.request !== undefined && !isObject(call.request)) throw new ConnectorFixtureError(`${at}.request must be an object`);
    const response = call.response;
    if (!isObject(response) || typeof response.status !== 'number' || response.status < 100 || response.status > 599) {
      throw new ConnectorFixtureError(`${at}.response must be an object with a "status" from 100 to 599`);
    }
  });
}

/** Checks the shape once, when the client is created, so a broken file fails at start and says where. */
export function checkFixtures(doc: unknown): FixturesDocument {
  if (!isObject(doc) || doc.gatehouse_fixtures !== 1) {
    throw new ConnectorFixtureError('fixtures must be a document written by `gatehouse fixtures record` ({"gatehouse_fixtures": 1, "connectors": {…}})');
  }
  for (const group of ['connectors', 'composites'] as const) {
    const entries = doc[group];
    if (entries === undefined) continue;
    if (!isObject(entries)) throw new ConnectorFixtureError(`fixtures "${group}" must be an object keyed by permalink`);
    for (const [permalink, entry] of Object.entries(entries)) {
      const where = `${group}["${permalink}"]`;
      if (!isObject(entry)) throw new ConnectorFixtureError(`${where} must be an object`);
      if (group === 'connectors' && typeof entry.method !== 'string') throw new ConnectorFixtureError(`${where}.method must be the connector's HTTP method`);
      checkCalls(entry.calls, where);
    }
  }
  return doc as unknown as FixturesDocument;
}

/** JSON with sorted keys: two requests match when they sent the same values, in any key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The key a request is matched by: query, path parameters (as strings) and payload. */
export function requestKey(request: FixtureRequest): string {
  return canonical([request.queryParams ?? {}, request.pathParams ?? {}, request.payload ?? null]);
}

/** The recorded call for `request`: the exact match, else the permalink's catch-all (no `request`). */
export function findCall(calls: FixtureCall[], request: FixtureRequest): FixtureCall | undefined {
  const key = requestKey(request);
  return calls.find((c) => c.request !== undefined && requestKey(c.request) === key) ?? calls.find((c) => c.request === undefined);
}
