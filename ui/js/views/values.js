// Secrets and variables of a tenant. Secret values are write-only: the API returns only a mask
// (first character + nine "*"), and the value typed here is cleared as soon as it is saved.
// Variables are plain configuration and readable.

import { api, seg } from '../api.js';
import { field, h, uid } from '../dom.js';
import { confirmDialog } from '../components/dialog.js';
import { errorBox } from '../components/errors.js';
import { table } from '../components/table.js';
import { timeEl } from '../format.js';
import { flash, loading, showError } from '../page.js';
import { tenantFrame } from './tenants.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function secretsTab(ctx) {
  return valuesTab(ctx, 'secret');
}

export function variablesTab(ctx) {
  return valuesTab(ctx, 'variable');
}

async function valuesTab(ctx, kind) {
  const segment = `${kind}s`;
  const frame = await tenantFrame(ctx, segment);
  if (!frame) return;
  const tenant = frame.tenant.id;
  const isSecret = kind === 'secret';
  const list = h('div');
  const status = h('div');

  const nameInput = h('input', { type: 'text', name: 'name', required: true, maxLength: 128, pattern: '[A-Za-z_][A-Za-z0-9_]*', autocomplete: 'off', spellcheck: false });
  const singleValue = h('input', { type: isSecret ? 'password' : 'text', name: 'value', autocomplete: isSecret ? 'new-password' : 'off', spellcheck: false, class: 'wide' });
  const multiValue = h('textarea', { name: 'value-multiline', rows: 6, spellcheck: false, autocomplete: 'off', class: 'wide code small-code', hidden: true });
  const multiToggle = h('input', { type: 'checkbox', id: uid('multi') });
  const valueField = field('Value', singleValue, isSecret ? 'Write-only: after saving, only the mask is shown. Values are encrypted at rest.' : 'Readable by operators; use a secret for credentials.');
  singleValue.after(multiValue);
  multiToggle.addEventListener('change', () => {
    const multi = multiToggle.checked;
    (multi ? multiValue : singleValue).value = (multi ? singleValue : multiValue).value;
    (multi ? singleValue : multiValue).value = '';
    singleValue.hidden = multi;
    multiValue.hidden = !multi;
    valueField.querySelector('label').htmlFor = multi ? (multiValue.id ||= uid('mv')) : singleValue.id;
    (multi ? multiValue : singleValue).focus();
  });
  const currentValue = () => (multiToggle.checked ? multiValue.value : singleValue.value);
  const clearValue = () => {
    singleValue.value = '';
    multiValue.value = '';
  };

  const submit = h('button', { type: 'submit', class: 'primary' }, `Save ${kind}`);
  const formTitle = h('h2', {}, `Set a ${kind}`);
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    formTitle,
    status,
    field('Name', nameInput, 'Letters, digits and “_”, not starting with a digit; case-sensitive. Templates read it with ' + (isSecret ? "{{ get_secret('name') }}." : "{{ get_variable('name') }}.")),
    valueField,
    h('div', { class: 'checkbox' }, multiToggle, h('label', { for: multiToggle.id }, isSecret ? 'Multi-line value (e.g. a PEM private key)' : 'Multi-line value')),
    h('div', { class: 'actions' }, submit),
  );

  async function load() {
    try {
      const { data } = await api('GET', `/tenants/${seg(tenant)}/${segment}`, { signal: ctx.signal });
      list.replaceChildren(
        table(
          [
            { label: 'Name', cell: (v) => h('code', {}, v.name) },
            isSecret
              ? { label: 'Value', cell: (v) => h('code', { class: 'masked', title: 'Secret values are never shown' }, v.masked) }
              : { label: 'Value', cell: (v) => h('code', { class: 'break' }, v.value) },
            { label: 'Updated', cell: (v) => timeEl(v.updated_at) },
            {
              label: 'Actions',
              cell: (v) =>
                h(
                  'div',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `${isSecret ? 'Replace' : 'Edit'} ${v.name}`, onclick: () => editRow(v) }, isSecret ? 'Replace' : 'Edit'),
                  h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete ${v.name}`, onclick: () => deleteRow(v.name) }, 'Delete'),
                ),
            },
          ],
          data.items,
          { caption: `${data.items.length} ${kind}${data.items.length === 1 ? '' : 's'}`, empty: `No ${kind}s yet.` },
        ),
      );
    } catch (error) {
      showError(list, error, `Could not load the ${kind}s`);
    }
  }

  function editRow(v) {
    nameInput.value = v.name;
    formTitle.textContent = isSecret ? `Replace secret ${v.name}` : `Edit variable ${v.name}`;
    const multi = !isSecret && v.value.includes('\n');
    if (multi !== multiToggle.checked) multiToggle.click();
    if (!isSecret) (multi ? multiValue : singleValue).value = v.value;
    else clearValue();
    (multiToggle.checked ? multiValue : singleValue).focus();
  }

  async function deleteRow(name) {
    const ok = await confirmDialog({
      title: `Delete ${kind} ${name}?`,
      message: `Connectors that use ${isSecret ? `get_secret('${name}')` : `get_variable('${name}')`} will render the expression literally from the next request on.`,
      confirmLabel: `Delete ${kind}`,
    });
    if (!ok) return;
    try {
      await api('DELETE', `/tenants/${seg(tenant)}/${segment}/${seg(name)}`);
      flash(`${isSecret ? 'Secret' : 'Variable'} ${name} deleted.`);
      await load();
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Not deleted' }));
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const name = nameInput.value.trim();
    if (!NAME.test(name)) {
      status.append(errorBox({ code: 'INVALID_NAME', message: 'Names use letters, digits and “_”, and do not start with a digit.' }));
      nameInput.focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await api('PUT', `/tenants/${seg(tenant)}/${segment}/${seg(name)}`, { json: { value: currentValue() } });
      clearValue();
      nameInput.value = '';
      formTitle.textContent = `Set a ${kind}`;
      const verb = res.status === 201 ? 'created' : 'updated';
      flash(isSecret ? `Secret ${name} ${verb}; it shows as ${res.data.masked}.` : `Variable ${name} ${verb}.`);
      await load();
    } catch (error) {
      status.append(errorBox(error, { title: 'Not saved' }));
    } finally {
      submit.disabled = false;
    }
  });

  frame.body.append(h('h2', {}, isSecret ? 'Secrets' : 'Variables'), list, form);
  loading(list);
  await load();
}
