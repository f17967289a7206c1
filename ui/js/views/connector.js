// One connector. Repository-owned connectors are shown read-only (the repository is their source
// of truth); manual ones open in Code Mode: the raw JSON in an editor, saved as text so the API can
// report syntax errors by line and column and field errors by JSON pointer and position.

import { api, seg } from '../api.js';
import { h, jsonBlock } from '../dom.js';
import { codeEditor, problemList } from '../components/code-editor.js';
import { confirmDialog } from '../components/dialog.js';
import { sourceBadge } from '../components/badges.js';
import { errorBox, notice } from '../components/errors.js';
import { warningsSummary } from '../components/warnings.js';
import { callSnippets, runtimeUrl } from '../components/snippets.js';
import { testPanel } from '../components/test-panel.js';
import { rangeOf, usagePanel } from '../components/usage.js';
import { timeEl } from '../format.js';
import { flash, loading, showError } from '../page.js';
import { navigate, replaceQuery } from '../router.js';
import { tenantFrame } from './tenants.js';

const NEW_CONNECTOR = `{
  "name": "My connector",
  "url": "https://api.example.com/items/{{ pathParams.item_id }}",
  "method": "GET",
  "headers": [
    { "key": "Accept", "value": "application/json", "overridable": false }
  ],
  "query_parameters": [],
  "path_parameters": [{ "key": "item_id" }],
  "authentication": { "type": "none" },
  "response_body": "",
  "response_content_type": ""
}
`;

/** Path parameter keys of a definition text (for the test form); [] when it does not parse. */
/** [key, default] of each path parameter the definition text declares (the default pre-fills the test row). */
function pathParamsOf(text) {
  try {
    const def = JSON.parse(text);
    if (!Array.isArray(def.path_parameters)) return [];
    return def.path_parameters.filter((p) => p?.key).map((p) => [String(p.key), typeof p.value === 'string' ? p.value : '']);
  } catch {
    return [];
  }
}

function metaList(c) {
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h(
    'dl',
    { class: 'meta' },
    row('Permalink', h('code', {}, c.permalink)),
    row('Kind', c.kind),
    row('Source', [sourceBadge(c.source), c.repository ? ` ${c.repository}` : '']),
    c.commit_sha ? row('Commit', h('code', {}, c.commit_sha)) : null,
    row('Revision', h('code', { class: 'break' }, c.revision)),
    row('Created', timeEl(c.created_at)),
    row('Updated', timeEl(c.updated_at)),
    row('Runtime URL', runtimeUrl(c)),
  );
}

export async function newConnectorView(ctx) {
  const frame = await tenantFrame(ctx, 'connectors', { crumbs: [{ label: 'New connector' }] });
  if (!frame) return;
  const tenant = frame.tenant.id;
  const editor = codeEditor({ value: NEW_CONNECTOR, label: 'Connector JSON (Code Mode: one connector as in connectors_registry.json)' });
  const status = h('div');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Create connector');
  const form = h('form', { class: 'card editor-form' }, h('h2', {}, 'New manual connector'), status, editor.element, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    save.disabled = true;
    try {
      const { data } = await api('POST', `/tenants/${seg(tenant)}/connectors`, { text: editor.value });
      flash(`Connector ${data.permalink} created.${warningsSummary(data.warnings)}`, data.warnings?.length > 0 ? 'warning' : 'success', { navigating: true });
      navigate(`/tenants/${seg(tenant)}/connectors/${seg(data.permalink)}`);
    } catch (error) {
      showSaveError(status, error, editor);
    } finally {
      save.disabled = false;
    }
  });
  const test = testPanel({
    tenant,
    heading: 'Test this connector (unsaved text)',
    target: () => ({ connector: editor.value }),
    pathParams: pathParamsOf(editor.value),
    onInvalid: (error) => showSaveError(status, error, editor),
  });
  editor.textarea.addEventListener('change', () => test.ensurePathParams(pathParamsOf(editor.value)));
  frame.body.append(form, test.element);
}

/** A failed save: the problem list (positions jump into the editor), or the plain error. */
function showSaveError(status, error, editor) {
  const problems = problemList(error, editor);
  status.replaceChildren(problems ?? errorBox(error, { title: 'Not saved' }));
  const first = error.code === 'INVALID_JSON' ? { line: error.line, column: error.column } : Array.isArray(error.details) ? error.details.find((d) => d.line > 0) : undefined;
  if (first?.line > 0) editor.jumpTo(first.line, first.column);
  else status.scrollIntoView({ block: 'nearest' });
}

export async function connectorView(ctx) {
  const permalink = ctx.params.permalink;
  const frame = await tenantFrame(ctx, 'connectors', { crumbs: [{ label: permalink }] });
  if (!frame) return;
  const tenant = frame.tenant.id;
  const body = h('div');
  frame.body.append(body);
  loading(body);
  let c;
  try {
    ({ data: c } = await api('GET', `/tenants/${seg(tenant)}/connectors/${seg(permalink)}`, { signal: ctx.signal }));
  } catch (error) {
    showError(body, error, `Could not load connector ${permalink}`);
    return;
  }
  const text = `${JSON.stringify(c.definition, null, 2)}\n`;
  const purge = h('button', { type: 'button', class: 'secondary', onclick: () => purgeCache(tenant, c.permalink, purge) }, 'Purge cached responses');
  const usage = usagePanel({
    path: `/tenants/${seg(tenant)}/connectors/${seg(c.permalink)}/usage`,
    signal: ctx.signal,
    heading: 'Usage',
    range: rangeOf(ctx.query),
    onRange: (range) => replaceQuery(`/tenants/${seg(tenant)}/connectors/${seg(c.permalink)}`, { range: range === 'hour' ? undefined : range }),
  });
  body.replaceChildren(h('div', { class: 'section-head' }, h('h2', {}, c.name), h('div', { class: 'actions' }, purge)), metaList(c), usage.element, callSnippets(c));

  if (c.source === 'repository') {
    body.append(
      notice(
        [
          `Read-only: this ${c.kind} comes from the GitHub repository ${c.repository}. Change it there (a push syncs it), or unlink the repository. `,
          h('a', { href: `#/syncs?tenant=${seg(tenant)}&repository=${seg(c.repository)}` }, `Sync history of ${c.repository}`),
          ' · ',
          h('a', { href: `#/tenants/${seg(tenant)}/repositories` }, 'Repositories'),
        ],
        'info',
      ),
      h('h3', {}, 'Definition (JSON)'),
      jsonBlock(c.definition, { label: 'Connector definition' }),
    );
    body.append(testPanel({ tenant, target: () => ({ permalink: c.permalink }), pathParams: pathParamsOf(text), heading: `Test Connection (saved ${c.kind === 'composite' ? 'composite connector' : 'connector'})` }).element);
    return;
  }

  const editor = codeEditor({ value: text, label: 'Connector JSON' });
  const status = h('div');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const revert = h('button', { type: 'button', class: 'secondary', onclick: () => {
    editor.value = text;
    editor.mark([]);
    status.replaceChildren();
  } }, 'Revert changes');
  const remove = h('button', { type: 'button', class: 'danger', onclick: () => deleteConnector(tenant, c.permalink, status) }, 'Delete connector');
  const form = h('form', { class: 'card editor-form' }, h('h3', {}, 'Code Mode (manual connector)'), status, editor.element, h('div', { class: 'actions' }, save, revert, h('span', { class: 'spacer' }), remove));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    save.disabled = true;
    try {
      const res = await api('PUT', `/tenants/${seg(tenant)}/connectors/${seg(c.permalink)}`, { text: editor.value });
      const saved = res.data.revision === c.revision ? 'Saved: no change to the definition.' : `Connector ${c.permalink} saved (revision ${res.data.revision.slice(0, 12)}).`;
      flash(`${saved}${warningsSummary(res.data.warnings)}`, res.data.warnings?.length > 0 ? 'warning' : 'success', { navigating: true });
      navigate(`/tenants/${seg(tenant)}/connectors/${seg(c.permalink)}`);
    } catch (error) {
      showSaveError(status, error, editor);
    } finally {
      save.disabled = false;
    }
  });

  const useSaved = h('input', { type: 'radio', name: 'test-source', value: 'saved', id: 'test-saved', checked: true });
  const useText = h('input', { type: 'radio', name: 'test-source', value: 'text', id: 'test-text' });
  const test = testPanel({
    tenant,
    heading: 'Test Connection',
    target: () => (useText.checked ? { connector: editor.value } : { permalink: c.permalink }),
    pathParams: pathParamsOf(text),
    onInvalid: (error) => showSaveError(status, error, editor),
  });
  const chooser = h(
    'fieldset',
    { class: 'inline' },
    h('legend', {}, 'Run'),
    h('div', { class: 'radio' }, useSaved, h('label', { for: 'test-saved' }, 'the saved connector')),
    h('div', { class: 'radio' }, useText, h('label', { for: 'test-text' }, 'the editor’s text (unsaved)')),
  );
  test.element.querySelector('h2').after(chooser);
  editor.textarea.addEventListener('change', () => test.ensurePathParams(pathParamsOf(editor.value)));
  body.append(form, test.element);
}

async function deleteConnector(tenant, permalink, status) {
  const ok = await confirmDialog({ title: `Delete ${permalink}?`, message: `The manual connector ${permalink} stops working for every widget at once. This cannot be undone.`, confirmLabel: 'Delete connector' });
  if (!ok) return;
  try {
    await api('DELETE', `/tenants/${seg(tenant)}/connectors/${seg(permalink)}`);
    flash(`Connector ${permalink} deleted.`, 'success', { navigating: true });
    navigate(`/tenants/${seg(tenant)}/connectors`);
  } catch (error) {
    status.replaceChildren(errorBox(error, { title: 'Not deleted' }));
  }
}

async function purgeCache(tenant, permalink, button) {
  button.disabled = true;
  try {
    const { data } = await api('DELETE', `/tenants/${seg(tenant)}/connectors/${seg(permalink)}/cache`);
    flash(`Response cache of ${permalink} purged (${data.removed} entr${data.removed === 1 ? 'y' : 'ies'} removed).`, 'success');
  } catch (error) {
    flash(`Cache not purged: ${error.code}: ${error.message}`, 'error');
  } finally {
    button.disabled = false;
  }
}
