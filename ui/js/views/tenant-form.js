// Create a tenant, or edit its settings. The HS256 session secret is write-only: the API never
// returns it, so the field is always empty and "empty" means "keep the stored secret".

import { api, seg } from '../api.js';
import { field, h, uid } from '../dom.js';
import { confirmDialog } from '../components/dialog.js';
import { errorBox } from '../components/errors.js';
import { flash, startView } from '../page.js';
import { navigate } from '../router.js';
import { tenantFrame } from './tenants.js';

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
// The pattern attribute is compiled with the `v` flag, where a bare "-" in a class is an error.
const TENANT_ID_PATTERN = '[a-z0-9][a-z0-9\\-]{0,62}';

export function newTenantView() {
  const body = startView({ title: 'New tenant', crumbs: [{ label: 'Tenants', href: '#/tenants' }, { label: 'New tenant' }] });
  body.append(tenantForm(undefined));
}

export async function tenantSettingsView(ctx) {
  const frame = await tenantFrame(ctx, 'settings');
  if (frame) frame.body.append(await originsWarning(frame.tenant), tenantForm(frame.tenant), deleteCard(frame.tenant));
}

/**
 * A tenant with connectors but no allowed origins: every widget call from a browser fails with a
 * bare CORS error in the console, so the settings say so where the fix is made.
 */
async function originsWarning(tenant) {
  if (tenant.allowed_origins.length > 0) return '';
  let count = 0;
  try {
    const { data } = await api('GET', `/tenants/${seg(tenant.id)}/connectors`);
    count = data.items.length;
  } catch {
    // The warning is advice; without the count the form is still usable.
    return '';
  }
  if (count === 0) return '';
  return h(
    'div',
    { class: 'alert alert-warning', role: 'status', id: 'origins-warning' },
    `No allowed origins: this tenant has ${count} connector${count === 1 ? '' : 's'}, but no browser page may read their answers (the browser reports a CORS error). ` +
      'Add the origin of every page that embeds your widgets below, or * alone for every origin.',
  );
}

/** Deleting a tenant (API extension): refused by the API while repositories are linked. */
function deleteCard(tenant) {
  const status = h('div');
  const button = h('button', { type: 'button', class: 'danger' }, 'Delete tenant');
  button.addEventListener('click', async () => {
    status.replaceChildren();
    const ok = await confirmDialog({
      title: `Delete tenant ${tenant.id}?`,
      message: `Its settings, secrets, variables and manual connectors are deleted at once and widgets calling /t/${tenant.id}/… get 404. Linked repositories must be unlinked first. The sync history is kept.`,
      confirmLabel: 'Delete tenant',
    });
    if (!ok) return;
    button.disabled = true;
    try {
      const { data } = await api('DELETE', `/tenants/${seg(tenant.id)}`);
      flash(`Tenant ${tenant.id} deleted; ${data.connectors.length} connector${data.connectors.length === 1 ? '' : 's'} removed.`, 'success', { navigating: true });
      navigate('/tenants');
    } catch (error) {
      status.append(errorBox(error, { title: 'Not deleted' }));
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { class: 'card form' }, h('h2', {}, 'Delete tenant'), status, h('p', { class: 'muted' }, 'Removes the tenant and everything it holds. This cannot be undone.'), h('div', { class: 'actions' }, button));
}

function radio(name, value, label, checked) {
  const input = h('input', { type: 'radio', name, value, checked, id: uid('r') });
  return { input, el: h('div', { class: 'radio' }, input, h('label', { for: input.id }, label)) };
}

function tenantForm(existing) {
  const isNew = existing === undefined;
  const session = existing?.session ?? null;
  const kind = session === null ? 'none' : session.jwks_url ? 'jwks' : 'hs256';

  const idInput = h('input', { type: 'text', name: 'id', required: true, pattern: TENANT_ID_PATTERN, maxLength: 63, autocomplete: 'off', spellcheck: false });
  const nameInput = h('input', { type: 'text', name: 'name', required: true, maxLength: 255, value: existing?.name ?? '' });
  const group = `session-${uid()}`;
  const none = radio(group, 'none', 'None — every caller is anonymous', kind === 'none');
  const hs = radio(group, 'hs256', 'HS256 shared secret', kind === 'hs256');
  const jwks = radio(group, 'jwks', 'JWKS URL (RS*/ES*/EdDSA)', kind === 'jwks');
  const secretInput = h('input', { type: 'password', name: 'secret', autocomplete: 'new-password', spellcheck: false, class: 'wide' });
  const jwksInput = h('input', { type: 'url', name: 'jwks_url', class: 'wide', value: session?.jwks_url ?? '', placeholder: 'https://login.example.com/.well-known/jwks.json' });
  const originsInput = h('textarea', { name: 'allowed_origins', rows: 3, class: 'wide', spellcheck: false, value: (existing?.allowed_origins ?? []).join('\n'), placeholder: 'https://app.example.com' });
  const rateInput = h('input', { type: 'number', name: 'rate_limit_per_minute', min: 1, max: 1000000, step: 1, value: existing?.rate_limit_per_minute ?? '' });
  const userRateInput = h('input', { type: 'number', name: 'rate_limit_per_user_per_minute', min: 1, max: 1000000, step: 1, value: existing?.rate_limit_per_user_per_minute ?? '' });
  const propagationInput = h('input', { type: 'checkbox', name: 'trace_propagation', id: uid('trace'), checked: existing?.trace_propagation !== false });

  const secretHelp =
    kind === 'hs256'
      ? 'Write-only: the stored secret is never shown. Leave empty to keep it; type a new one (at least 32 bytes, e.g. openssl rand -hex 32) to replace it.'
      : 'At least 32 bytes (openssl rand -hex 32). Write-only: it is never shown again.';
  const secretField = field('HS256 secret', secretInput, secretHelp);
  const jwksField = field('JWKS URL', jwksInput, 'https:// URL of the identity provider’s key set.');
  const syncSessionFields = () => {
    secretField.hidden = !hs.input.checked;
    jwksField.hidden = !jwks.input.checked;
  };
  for (const r of [none, hs, jwks]) r.input.addEventListener('change', syncSessionFields);
  syncSessionFields();

  const status = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create tenant' : 'Save settings');
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    status,
    isNew ? field('Tenant ID', idInput, 'Lowercase letters, digits and “-”, up to 63 characters. It appears in widget URLs (/t/{tenant}/…) and cannot be changed.') : null,
    field('Name', nameInput),
    h('fieldset', {}, h('legend', {}, 'Session tokens (widget users)'), none.el, hs.el, jwks.el, secretField, jwksField),
    field('Allowed origins', originsInput, 'Browser origins allowed to call the runtime, one per line, exactly as browsers send them (https://app.example.com, no path, no trailing slash), or * alone for every origin. Empty: no browser page may read answers.'),
    field('Rate limit (requests per minute)', rateInput, 'Empty: no limit.'),
    field('Rate limit per signed-in user (requests per minute)', userRateInput, 'Counted per session user (token sub); anonymous callers count only toward the tenant limit. Empty: no limit.'),
    h('div', { class: 'checkbox' }, propagationInput, h('label', { for: propagationInput.id }, 'Send trace context (traceparent) to upstreams and token endpoints')),
    h('p', { class: 'muted' }, 'Only when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT). Off: requests to this tenant’s upstreams carry no trace header; Gatehouse still records its spans.'),
    h('div', { class: 'actions' }, submit),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const id = isNew ? idInput.value.trim() : existing.id;
    if (isNew && !TENANT_ID.test(id)) {
      status.append(errorBox({ code: 'INVALID_TENANT_ID', message: 'The tenant ID must be lowercase letters, digits and “-”, starting with a letter or digit.' }));
      idInput.setAttribute('aria-invalid', 'true');
      idInput.focus();
      return;
    }
    const body = {
      name: nameInput.value.trim(),
      allowed_origins: originsInput.value.split('\n').map((s) => s.trim()).filter(Boolean),
      rate_limit_per_minute: rateInput.value.trim() === '' ? null : Number(rateInput.value),
      rate_limit_per_user_per_minute: userRateInput.value.trim() === '' ? null : Number(userRateInput.value),
      trace_propagation: propagationInput.checked,
    };
    if (hs.input.checked) body.session = secretInput.value === '' ? { alg: 'HS256' } : { alg: 'HS256', secret: secretInput.value };
    else if (jwks.input.checked) body.session = { jwks_url: jwksInput.value.trim() };
    else body.session = null;

    submit.disabled = true;
    try {
      const res = await api('PUT', `/tenants/${seg(id)}`, { json: body });
      secretInput.value = '';
      if (res.status === 201) {
        flash(`Tenant ${id} created.`, 'success', { navigating: true });
        navigate(`/tenants/${seg(id)}/connectors`);
      } else {
        flash(`Settings of ${id} saved.`, 'success', { navigating: true });
        navigate(`/tenants/${seg(id)}/settings`);
      }
    } catch (error) {
      status.append(errorBox(error, { title: 'Not saved' }));
      markInvalid(error, { '/body/name': nameInput, '/body/session': hs.input.checked ? secretInput : jwksInput, '/body/allowed_origins': originsInput, '/body/rate_limit_per_minute': rateInput, '/body/rate_limit_per_user_per_minute': userRateInput });
      status.scrollIntoView({ block: 'nearest' });
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** aria-invalid on the controls named by the error details' paths (prefix match). */
function markInvalid(error, controls) {
  for (const control of Object.values(controls)) control.removeAttribute('aria-invalid');
  const details = Array.isArray(error.details) ? error.details : [];
  let first;
  for (const d of details) {
    for (const [prefix, control] of Object.entries(controls)) {
      if (typeof d.path === 'string' && d.path.startsWith(prefix)) {
        control.setAttribute('aria-invalid', 'true');
        first ??= control;
      }
    }
  }
  first?.focus();
}
