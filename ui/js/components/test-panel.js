// Test Connection (POST /tenants/{t}/connectors/test): runs a saved connector (by permalink) or
// the unsaved text of an editor through the real pipeline, without the cache, and shows the
// answer: status, headers, body, timing and the X-Debug-Request record (credentials masked
// by the server). Everything shown is data from the upstream or the connector: text only.

import { api, seg } from '../api.js';
import { field, h, jsonBlock, prettyJsonText, uid } from '../dom.js';
import { errorBox } from './errors.js';
import { kvEditor } from './kv-editor.js';
import { table } from './table.js';
import { warningsSection } from './warnings.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * testPanel({tenant, target: () => ({permalink} | {connector: text} | {composite: text}) | null, pathParams?, onInvalid?})
 * `pathParams`: [key, default] pairs; a row starts with the connector's default value (an empty
 * row is not sent, so the server applies the default anyway).
 * `onInvalid(error)` receives 400 INVALID_JSON / 422 VALIDATION_FAILED for an unsaved connector.
 */
export function testPanel({ tenant, target, pathParams: pathParamRows = [], onInvalid, heading = 'Test Connection' }) {
  const method = h('select', { name: 'method' }, h('option', { value: '' }, 'the connector’s method'), METHODS.map((m) => h('option', { value: m }, m)));
  const query = kvEditor({ legend: 'Query parameters', keyLabel: 'Parameter' });
  const pathParams = kvEditor({ legend: 'Path parameters', keyLabel: 'Parameter', initial: pathParamRows });
  const headers = kvEditor({ legend: 'Headers', keyLabel: 'Header' });
  const payload = h('textarea', { class: 'code small-code', rows: 5, spellcheck: false, placeholder: '{"example": true}' });

  const user = {
    id: h('input', { type: 'text', autocomplete: 'off' }),
    email: h('input', { type: 'email', autocomplete: 'off' }),
    first_name: h('input', { type: 'text', autocomplete: 'off' }),
    last_name: h('input', { type: 'text', autocomplete: 'off' }),
    username: h('input', { type: 'text', autocomplete: 'off' }),
    profile_fields: h('textarea', { class: 'code small-code', rows: 3, spellcheck: false, placeholder: '{"12": "Engineering"}' }),
  };
  const userBox = h(
    'details',
    { class: 'user-box' },
    h('summary', {}, 'Stand-in user (optional — otherwise the call is anonymous)'),
    h(
      'div',
      { class: 'grid-2' },
      field('user.id', user.id),
      field('user.email', user.email),
      field('user.first_name', user.first_name),
      field('user.last_name', user.last_name),
      field('user.username', user.username),
    ),
    field('user.profile_fields (JSON object keyed by field id)', user.profile_fields),
  );

  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run test');
  const headingId = uid('test');
  const form = h(
    'form',
    { class: 'card test-panel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, heading),
    h('p', { class: 'help' }, 'Runs the whole pipeline (secrets, auth, templates, upstream call) without the cache. Caller values are data, never templates. Rows with an empty value are not sent.'),
    field('Method', method),
    h('div', { class: 'grid-3' }, query.element, pathParams.element, headers.element),
    field('Payload (request body, sent as typed)', payload),
    userBox,
    h('div', { class: 'actions' }, run),
    result,
  );

  function buildUser() {
    const out = {};
    for (const key of ['id', 'email', 'first_name', 'last_name', 'username']) {
      if (user[key].value.trim() !== '') out[key] = user[key].value.trim();
    }
    if (user.profile_fields.value.trim() !== '') {
      out.profile_fields = JSON.parse(user.profile_fields.value);
      if (typeof out.profile_fields !== 'object' || out.profile_fields === null || Array.isArray(out.profile_fields)) {
        throw new Error('profile_fields must be a JSON object such as {"12": "Engineering"}');
      }
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const which = target();
    if (!which) return;
    const request = { queryParams: query.value(), pathParams: pathParams.value(), headers: headers.value() };
    if (method.value) request.method = method.value;
    if (payload.value !== '') request.payload = payload.value;
    const body = { ...which, request };
    try {
      const u = buildUser();
      if (u) body.user = u;
    } catch (error) {
      result.replaceChildren(errorBox({ code: 'INVALID_USER', message: `Stand-in user: ${error.message}` }));
      user.profile_fields.focus();
      return;
    }
    run.disabled = true;
    result.replaceChildren(h('p', { class: 'loading', 'aria-busy': 'true' }, 'Running…'));
    const started = performance.now();
    try {
      const res = await api('POST', `/tenants/${seg(tenant)}/connectors/test`, { json: body });
      result.replaceChildren(renderResult(res.data, res.headers.get('x-debug-request'), performance.now() - started));
    } catch (error) {
      result.replaceChildren(errorBox(error, { title: 'The test did not run' }));
      if (error.code === 'INVALID_JSON' || error.code === 'VALIDATION_FAILED') onInvalid?.(error);
    } finally {
      run.disabled = false;
    }
  });

  return {
    element: form,
    /** [key, default] pairs of the connector under test. */
    setPathParams: (entries) => pathParams.set(entries),
    ensurePathParams: (entries) => pathParams.ensureKeys(entries),
  };
}

function statusClass(status) {
  if (status >= 200 && status < 300) return 'badge-ok';
  if (status >= 300 && status < 400) return 'badge-neutral';
  return 'badge-bad';
}

/** What the upstream answered before the response template, when the template changed it. */
function upstreamBlock(data) {
  const up = data.upstream;
  if (!up) return h('p', { class: 'muted' }, 'No upstream answer (the run stopped before the upstream call).');
  if (up.body === data.body && up.status === data.status) return null;
  const text = prettyJsonText(up.body ?? '');
  return h(
    'div',
    { class: 'upstream-raw' },
    h('h3', {}, `Upstream answer before the response template (status ${up.status})`),
    text === '' ? h('p', { class: 'muted' }, '(empty)') : h('pre', { class: 'json', tabindex: 0, 'aria-label': 'Raw upstream body' }, text),
  );
}

function renderResult(data, debugHeader, roundTripMs) {
  const timing = data.timing ?? {};
  const headerRows = Object.entries(data.headers ?? {});
  let debug = null;
  if (debugHeader) {
    try {
      debug = JSON.parse(debugHeader);
    } catch {
      debug = debugHeader;
    }
  }
  const contentType = String(data.headers?.['content-type'] ?? '');
  const bodyText = contentType.includes('json') ? prettyJsonText(data.body ?? '') : data.body ?? '';
  return h(
    'section',
    { class: 'result', 'aria-label': 'Test result' },
    h(
      'p',
      { class: 'result-summary' },
      h('span', { class: ['badge', statusClass(data.status)] }, `Status ${data.status}`),
      ` ${timing.total_ms ?? '?'} ms in Gatehouse`,
      timing.external_ms !== undefined ? ` (upstream ${timing.external_ms} ms, internal ${timing.internal_ms} ms)` : '',
      timing.external_host ? ` · ${timing.external_host}` : '',
      timing.error ? ` · error: ${timing.error}` : '',
      h('span', { class: 'muted' }, ` · round trip ${Math.round(roundTripMs)} ms`),
    ),
    warningsSection(data.warnings, { caption: 'Never blocking. Positions are 1-based, in the connector JSON.' }),
    h('h3', {}, 'Response body'),
    bodyText === '' ? h('p', { class: 'muted' }, '(empty)') : h('pre', { class: 'json', tabindex: 0, 'aria-label': 'Response body' }, bodyText),
    upstreamBlock(data),
    h('h3', {}, 'Response headers'),
    table([{ label: 'Header', cell: ([k]) => h('code', {}, k) }, { label: 'Value', cell: ([, v]) => String(v), class: 'break' }], headerRows, { empty: 'No headers.' }),
    h('h3', {}, 'Debug request (X-Debug-Request)'),
    debug === null ? h('p', { class: 'muted' }, 'No debug record (the run stopped before the request was built).') : jsonBlock(debug, { label: 'Debug request', wrap: true }),
    h('h3', {}, 'Timing (X-Connector-Timing)'),
    jsonBlock(timing, { label: 'Timing' }),
  );
}
