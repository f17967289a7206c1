import type { CompositeDefinition, ConnectorDefinition } from '../../src/registry/model.js';

/** Normalised definitions as the validator would produce them. */
export function connector(permalink: string, extra: Partial<ConnectorDefinition> = {}): ConnectorDefinition {
  return {
    name: permalink,
    permalink,
    url: `https://api.example.com/${permalink}`,
    method: 'GET',
    headers: [],
    query_parameters: [],
    path_parameters: [],
    authentication: { type: 'none' },
    request_body: '',
    response_body: '',
    response_content_type: '',
    ...extra,
  };
}

export function composite(permalink: string): CompositeDefinition {
  const { permalink: _p, path_parameters: _pp, ...step } = connector(permalink);
  return { name: permalink, permalink, steps: [{ ...step, name: 'first' }] };
}

