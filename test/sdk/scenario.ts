import type { ServerResponse } from 'node:http';
import { startHarness, step, type Harness } from '../runtime/harness.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * The widget client's world, shared by the Node and the browser tests: a real Gatehouse (real
 * Redis), a real local upstream, and tenant `acme` with one connector per behaviour the client
 * has to show (query and path parameters, a POST body, a composite, user context, errors, a slow
 * upstream, a text answer, HEAD).
 */

export const API_KEY_SECRET = 'sk-live-canary-7f3a9c21d4e8b06a';

export interface SdkScenario {
  h: Harness;
  up: TestUpstream;
  /** Port of a loopback address nothing listens on (for 502 UPSTREAM_UNREACHABLE). */
  closedPort: number;
  /** Answers every request the slow route is holding (the upstream never answers on its own). */
  releaseSlow(): void;
  close(): Promise<void>;
}

export async function startSdkScenario(options: { allowedOrigins?: string[] } = {}): Promise<SdkScenario> {
  const up = await startUpstream();
  const held: ServerResponse[] = [];
  up.route('/slow', (_req, res) => {
    held.push(res);
  });
  // An upstream that needs the secret and answers data, never the request (the fixtures canary).
  up.route('/forecast-data/3', (req, res) => {
    const authorized = req.headers['x-api-key'] === API_KEY_SECRET;
    res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json', 'set-cookie': `upstream_session=${API_KEY_SECRET}` });
    res.end(JSON.stringify(authorized ? { city: req.query.get('city'), days: 3, temps: [21, 19, 23], for_user: req.query.get('for_user') } : { error: 'no key' }));
  });
  up.route('/text', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('plain words, not JSON');
  });
  const releaseSlow = () => {
    for (const res of held.splice(0)) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"late": true}');
    }
  };
  // A port that was free a moment ago: nothing listens there, so connecting is refused.
  const spare = await startUpstream();
  const closedPort = spare.port;
  await spare.close();

  // This file's slot Redis may hold another file's tenants, sealed under another master key.
  await flushTestRedis();
  const h = await startHarness();
  await h.createTenant('acme', { allowed_origins: options.allowedOrigins ?? ['https://widgets.example'] });
  await h.putSecret('acme', 'weather_key', API_KEY_SECRET);
  const connectors: (Record<string, unknown> & { name: string; url: string })[] = [
    {
      name: 'Weather',
      permalink: 'weather',
      url: `${up.url}/weather/{{ pathParams.city }}/{{ pathParams.units }}`,
      path_parameters: [{ key: 'city' }, { key: 'units', value: 'metric' }],
      query_parameters: [
        { key: 'q', value: 'default', overridable: true },
        { key: 'lang', value: 'en', overridable: true },
        { key: 'source', value: 'gatehouse', overridable: false },
      ],
      headers: [{ key: 'Accept-Language', value: 'en', overridable: true }],
      authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: "{{ get_secret('weather_key') }}", in: 'header' } },
    },
    {
      name: 'Forecast',
      permalink: 'forecast',
      url: `${up.url}/forecast-data/{{ pathParams.days }}`,
      path_parameters: [{ key: 'days' }],
      query_parameters: [{ key: 'city', value: 'Warsaw', overridable: true }, { key: 'for_user', value: '{{ user.email }}', overridable: false }],
      headers: [{ key: 'X-Api-Key', value: "{{ get_secret('weather_key') }}", overridable: false }],
    },
    { name: 'Contacts', permalink: 'contacts', method: 'POST', url: `${up.url}/contacts` },
    { name: 'Contact Update', permalink: 'contact-update', method: 'PUT', url: `${up.url}/contacts/{{ pathParams.id }}`, path_parameters: [{ key: 'id' }] },
    {
      name: 'Who Am I',
      permalink: 'whoami',
      url: `${up.url}/whoami`,
      query_parameters: [{ key: 'user_id', value: '{{ user.id }}', overridable: false }],
      headers: [{ key: 'X-User-Email', value: '{{ user.email }}', overridable: false }],
    },
    { name: 'Slow', permalink: 'slow', url: `${up.url}/slow` },
    { name: 'Plain Text', permalink: 'plain-text', url: `${up.url}/text` },
    { name: 'Ping', permalink: 'ping', method: 'HEAD', url: `${up.url}/ping` },
    { name: 'Broken Response', permalink: 'broken-response', url: `${up.url}/text`, response_body: '{{ (response.body | from_json).x }}' },
    { name: 'Unreachable', permalink: 'unreachable', url: `http://127.0.0.1:${closedPort}/nothing` },
  ];
  for (const c of connectors) await h.createConnector('acme', c);
  await h.linkComposite('acme', [
    {
      name: 'Dashboard',
      permalink: 'dashboard',
      steps: [
        step({ name: 'forecast', url: `${up.url}/forecast`, query_parameters: [{ key: 'city', value: '{{ request.query_parameters.city }}', overridable: false }] }),
        step({
          name: 'summary',
          url: `${up.url}/summary`,
          method: 'POST',
          request_body: '{"forecast_query": {{ (steps.forecast.body | from_json).query | tojson }}, "widget": {{ request.body_text | safe }}}',
          response_body: '{{ (response.body | from_json).body | safe }}',
          response_content_type: 'application/json',
        }),
      ],
    },
    // A composite whose first step needs the secret and user.* (the composite fixtures canary).
    {
      name: 'Forecast Digest',
      permalink: 'forecast-digest',
      steps: [
        step({
          name: 'data',
          url: `${up.url}/forecast-data/3`,
          headers: [{ key: 'X-Api-Key', value: "{{ get_secret('weather_key') }}", overridable: false }],
          query_parameters: [
            { key: 'city', value: '{{ request.query_parameters.city }}', overridable: false },
            { key: 'for_user', value: '{{ user.email }}', overridable: false },
          ],
        }),
        step({
          name: 'digest',
          url: `${up.url}/digest`,
          method: 'POST',
          request_body: '{"temps": {{ (steps.data.body | from_json).temps | tojson }}, "widget": {{ request.body_text | safe }}}',
          response_body: '{{ (response.body | from_json).body | safe }}',
          response_content_type: 'application/json',
        }),
      ],
    },
  ]);
  return {
    h,
    up,
    closedPort,
    releaseSlow,
    async close() {
      releaseSlow();
      await h.close();
      await up.close();
    },
  };
}
