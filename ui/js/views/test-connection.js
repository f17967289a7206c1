// The tenant's Test Connection tab: pick a saved connector, or paste an unsaved definition.

import { api, seg } from '../api.js';
import { field, h } from '../dom.js';
import { codeEditor, problemList } from '../components/code-editor.js';
import { testPanel } from '../components/test-panel.js';
import { showError } from '../page.js';
import { replaceQuery } from '../router.js';
import { tenantFrame } from './tenants.js';

export async function testTab(ctx) {
  const frame = await tenantFrame(ctx, 'test');
  if (!frame) return;
  const tenant = frame.tenant.id;
  let connectors = [];
  try {
    ({ data: { items: connectors } } = await api('GET', `/tenants/${seg(tenant)}/connectors`, { signal: ctx.signal }));
  } catch (error) {
    showError(frame.body, error, 'Could not load the connectors');
    return;
  }
  const wanted = ctx.query.get('permalink');
  const kindOf = new Map(connectors.map((c) => [c.permalink, c.kind]));
  const select = h(
    'select',
    { name: 'permalink' },
    h('option', { value: '' }, '— an unsaved definition (paste it below) —'),
    connectors.map((c) => h('option', { value: c.permalink, selected: c.permalink === wanted }, `${c.permalink} (${c.kind === 'composite' ? 'composite, ' : ''}${c.source === 'repository' ? `GitHub: ${c.repository}` : 'manual'})`)),
  );
  const editor = codeEditor({ value: '', label: 'Unsaved connector JSON', rows: 12 });
  const status = h('div');
  const pasteBox = h('div', { class: 'card' }, status, editor.element);

  const panel = testPanel({
    tenant,
    heading: 'Request',
    target: () => {
      status.replaceChildren();
      editor.mark([]);
      if (select.value !== '') return { permalink: select.value };
      if (editor.value.trim() === '') {
        editor.textarea.focus();
        status.append(h('div', { class: 'alert alert-error', role: 'alert' }, 'Choose a saved connector, or paste a connector definition.'));
        return null;
      }
      // A pasted composite (it has "steps") is tested as one.
      return isComposite(editor.value) ? { composite: editor.value } : { connector: editor.value };
    },
    onInvalid: (error) => {
      const problems = problemList(error, editor);
      if (problems) status.replaceChildren(problems);
    },
  });

  async function syncChoice() {
    pasteBox.hidden = select.value !== '';
    replaceQuery(`/tenants/${seg(tenant)}/test`, { permalink: select.value });
    if (select.value === '') {
      panel.setPathParams([]);
      return;
    }
    if (kindOf.get(select.value) === 'composite') {
      panel.setPathParams([]);
      return;
    }
    try {
      const { data } = await api('GET', `/tenants/${seg(tenant)}/connectors/${seg(select.value)}`, { signal: ctx.signal });
      // Each row starts with the parameter's default: an empty value would be refused (400 INVALID_PATH_PARAMETERS).
      panel.setPathParams((data.definition.path_parameters ?? []).map((p) => [p.key, p.value ?? '']));
    } catch {
      panel.setPathParams([]);
    }
  }
  select.addEventListener('change', syncChoice);
  frame.body.append(
    h('div', { class: 'card' }, field('Connector', select, connectors.length === 0 ? 'This tenant has no connectors yet; paste a definition (a connector, or a composite with "steps") to try it before saving it.' : 'A saved connector or composite connector, or paste an unsaved definition (a composite is recognised by its "steps").')),
    pasteBox,
    panel.element,
  );
  await syncChoice();
}

function isComposite(text) {
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && Array.isArray(value.steps);
  } catch {
    return false;
  }
}
