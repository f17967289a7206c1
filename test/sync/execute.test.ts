import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { registry, startHarness, type Harness } from './harness.js';

/**
 * The whole product path: a push on GitHub makes a connector executable by widgets, an update
 * changes what it does, and deleting it from the file makes it disappear from the runtime.
 */

const REPO = 'acme/widgets';
const FILE = 'connectors_registry.json';

describe('push → live, executable connector', () => {
  let h: Harness;
  let upstream: TestUpstream;

  const weather = (responseBody: string) => ({
    name: 'Weather',
    url: `${upstream.url}/weather/{{ pathParams.city }}`,
    path_parameters: [{ key: 'city' }],
    query_parameters: [{ key: 'units', value: 'metric', overridable: true }],
    authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: "{{ get_secret('weather_key') }}", in: 'header' } },
    response_body: responseBody,
    response_content_type: 'application/json',
  });

  const execute = (city: string) => fetch(`${h.svc.url}/t/acme/connectors/weather/execute?units=imperial`, { headers: { 'x-path-params': `city=${city}` } });

  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.route('/weather/paris', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ temp: 21, units: req.query.get('units'), key_seen: req.headers['x-api-key'] === 's3cr3t-weather' }));
    });
    h = await startHarness();
    await h.createTenant('acme');
    expect((await h.admin('PUT', '/tenants/acme/secrets/weather_key', { value: 's3cr3t-weather' })).status).toBeLessThan(300);
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([]) });
    await h.waitForSync((await h.link('acme', REPO)).body.sync_id);
  });
  afterAll(async () => {
    await h?.close();
    await upstream?.close();
  });

  it('a pushed connector executes against the upstream with its secret', async () => {
    expect((await execute('paris')).status).toBe(404);
    await h.push(REPO, { [FILE]: registry([weather('{% set d = response.body | from_json %}{"celsius": {{ d.temp }}, "units": "{{ d.units }}", "authorised": {{ d.key_seen | tojson }}}')]) });
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', plan: { created: ['weather'] } });
    const res = await execute('paris');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ celsius: 21, units: 'imperial', authorised: true });
    expect(upstream.requests.at(-1)!.path).toBe('/weather/paris');
  });

  it('an update changes the running connector at once (same process reads its writes)', async () => {
    await h.push(REPO, { [FILE]: registry([weather('{% set d = response.body | from_json %}{"fahrenheit": {{ d.temp * 9 / 5 + 32 }}}')]) });
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', plan: { updated: ['weather'] } });
    expect(await (await execute('paris')).json()).toEqual({ fahrenheit: 69.8 });
  });

  it('a broken push keeps the running connector as it was', async () => {
    await h.push(REPO, { [FILE]: registry([weather('{% if %}')]) });
    expect((await h.settle('acme', REPO)).state).toBe('failed');
    expect(await (await execute('paris')).json()).toEqual({ fahrenheit: 69.8 });
  });

  it('removing it from the file removes it from the runtime', async () => {
    await h.push(REPO, { [FILE]: registry([]) });
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', plan: { deleted: ['weather'] } });
    const res = await execute('paris');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ success: false, errors: { code: 'CONNECTOR_NOT_FOUND' } });
  });
});
