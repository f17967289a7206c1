/**
 * How long `validateRegistryText` takes on a large registry file: 1,000 connectors (every auth type,
 * headers, query and path parameters, request/response templates, templated hosts) plus 50
 * composites. Run: npx tsx bench/validate.bench.ts [connectors]
 */
import { performance } from 'node:perf_hooks';
import { validateRegistryText } from '../src/registry/validate.js';

const count = Number(process.argv[2] ?? 1000);

function connector(i: number): Record<string, unknown> {
  const auth = [
    { type: 'none' },
    { type: 'api_key', config: { key: 'X-API-Key', value: `{{ get_secret('key_${i}') }}`, in: 'header' } },
    { type: 'oauth_client_credentials', config: { client_id: `{{ get_secret('cid_${i}') }}`, client_secret: `{{ get_secret('cs_${i}') }}`, token_url: 'https://login.example.com/oauth2/token', scope: 'api' } },
    { type: 'jwt', config: { private_key: `{{ get_secret('pk_${i}') }}`, claims: { iss: 'svc', sub: '{{ user.email }}', exp: '{{ now(3600) }}' }, jwt_headers: { kid: 'k1' } } },
    { type: 'oauth_jwt_bearer', config: { client_id: 'c', private_key: `{{ get_secret('pk_${i}') }}`, token_url: 'https://login.example.com/token', subject: 'admin@example.com', audience: 'https://login.example.com', additional_claims: { scope: 'api' } } },
  ][i % 5];
  return {
    name: `Connector ${i} — Orders for ${['EMEA', 'APAC', 'AMER'][i % 3]}`,
    url: i % 4 === 0
      ? `https://{{ get_variable('host_${i % 7}') | default('api${i}.example.com', true) }}/v1/orders/{{ pathParams.order_id }}`
      : `https://api${i}.example.com/v1/users/{{ user.id }}/orders/{{ pathParams.order_id }}?source=widget`,
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'][i % 5],
    headers: [
      { key: 'Accept', value: 'application/json', overridable: false },
      { key: 'X-Tenant', value: '{{ tenant_id }}', overridable: false },
      { key: 'X-Env', value: `{{ get_variable('env_${i % 3}') }}`, overridable: true },
    ],
    query_parameters: [
      { key: 'limit', value: '20', overridable: true },
      { key: 'email', value: '{{ user.email | default("") }}', overridable: false },
    ],
    path_parameters: [{ key: 'order_id', value: 'latest' }],
    authentication: auth,
    request_body: i % 5 === 1 ? '{% set b = body_text | from_json %}{"id": {{ b.id | tojson }}, "user": {{ user.id | tojson }}}' : '',
    response_body:
      '{% if response.status_code == 200 %}{% set d = response.body | from_json %}[{% for o in d.orders if o.visible %}{"id": {{ o.id }}, "name": {{ o.name | tojson }}}{% if not loop.last %},{% endif %}{% endfor %}]{% else %}{"error": true}{% endif %}',
    response_content_type: 'application/json',
  };
}

function composite(i: number): Record<string, unknown> {
  return {
    name: `Composite ${i}`,
    steps: [
      { name: 'contact', url: 'https://api.example.com/contacts', query_parameters: [{ key: 'email', value: '{{ user.email }}' }] },
      { name: 'orders', url: 'https://api.example.com/orders', query_parameters: [{ key: 'contact_id', value: '{{ (steps.contact.body | from_json).id }}' }] },
    ],
  };
}

const file = JSON.stringify(
  { connectors: Array.from({ length: count }, (_, i) => connector(i)), composite_connectors: Array.from({ length: 50 }, (_, i) => composite(i)) },
  null,
  2,
);
const options = { allowHttp: false, allowCidrs: [] };

if (process.env.DUMP) { (await import("node:fs")).writeFileSync(process.env.DUMP, file); }
const first = performance.now();
const result = validateRegistryText(file, options);
const firstMs = performance.now() - first;
if (!result.ok) {
  console.error(JSON.stringify(result.errors.slice(0, 5), null, 2));
  throw new Error(`the generated file is invalid (${result.errors.length} errors)`);
}

const runs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  validateRegistryText(file, options);
  runs.push(performance.now() - t);
}
runs.sort((a, b) => a - b);

// A file with one mistake per connector: the error path (positions, messages) costs more.
const broken = file.replace(/"method": "GET"/g, '"method": "FETCH"');
const tb = performance.now();
const bad = validateRegistryText(broken, options);
const brokenMs = performance.now() - tb;

console.log(
  JSON.stringify(
    {
      connectors: count,
      composites: 50,
      file_bytes: file.length,
      first_run_ms: Math.round(firstMs),
      median_ms: Math.round(runs[2]!),
      best_ms: Math.round(runs[0]!),
      per_connector_us: Math.round((runs[2]! * 1000) / count),
      with_errors: { errors: bad.ok ? 0 : bad.errors.length, ms: Math.round(brokenMs) },
    },
    null,
    2,
  ),
);
