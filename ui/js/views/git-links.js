// Git links of a tenant (GitLab, Gitea/Forgejo, Bitbucket, any Git server over HTTPS), shown on the
// Repositories tab under the GitHub links: link a branch (the server reads it first; a repository
// or branch it cannot read is refused with the reason), resync, unlink, unpin a link a rollback
// pinned, and each link's last sync.

import { api, seg } from '../api.js';
import { field, h } from '../dom.js';
import { confirmDialog } from '../components/dialog.js';
import { errorBox } from '../components/errors.js';
import { lastSyncCell, liveCommitCell } from '../components/link-cells.js';
import { table } from '../components/table.js';
import { unpinLink } from '../components/unpin.js';
import { flash, loading, showError } from '../page.js';
import { every } from '../router.js';

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export function gitLinksSection(tenant, ctx) {
  const base = `/tenants/${seg(tenant)}/git`;
  const list = h('div');
  const status = h('div');
  let lastJson = '';

  async function load() {
    try {
      const { data } = await api('GET', base, { signal: ctx.signal });
      const json = JSON.stringify(data.items);
      if (json === lastJson) return;
      lastJson = json;
      list.replaceChildren(
        table(
          [
            { label: 'Name', cell: (l) => h('strong', {}, l.name) },
            { label: 'Repository', cell: (l) => h('a', { href: `#/syncs?tenant=${seg(tenant)}&repository=${encodeURIComponent(l.url)}` }, l.url) },
            { label: 'Branch', cell: (l) => h('code', {}, l.branch) },
            { label: 'File', cell: (l) => h('code', {}, l.path) },
            { label: 'Polling', cell: (l) => (l.poll_interval_s === 0 ? h('span', { class: 'muted' }, 'webhooks only') : `every ${l.poll_interval_s} s`) },
            { label: 'Live commit', cell: (l) => liveCommitCell(l.applied_commit, l.pin) },
            { label: 'Last sync', cell: (l) => lastSyncCell(l.last_sync) },
            {
              label: 'Actions',
              cell: (l) =>
                h(
                  'div',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Resync ${l.name}`, onclick: (e) => resync(l, e.currentTarget) }, 'Resync'),
                  l.pin ? h('button', { type: 'button', class: 'secondary small', 'aria-label': `Unpin ${l.name}`, onclick: () => unpin(l) }, 'Unpin') : null,
                  h('button', { type: 'button', class: 'danger small', 'aria-label': `Unlink ${l.name}`, onclick: () => unlink(l) }, 'Unlink'),
                ),
            },
          ],
          data.items,
          { caption: `${data.items.length} Git link${data.items.length === 1 ? '' : 's'}`, empty: 'No Git link. Link a GitLab, Gitea/Forgejo, Bitbucket or any HTTPS Git repository below.' },
        ),
      );
    } catch (error) {
      lastJson = '';
      showError(list, error, 'Could not load the Git links');
    }
  }

  async function resync(link, button) {
    button.disabled = true;
    try {
      const { data } = await api('POST', `${base}/${seg(link.name)}/sync`);
      flash(`Resync of ${link.name} queued (${data.sync_id}).`);
      await load();
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Resync not queued' }));
    } finally {
      button.disabled = false;
    }
  }

  async function unpin(link) {
    const data = await unpinLink(link.name, link, `${base}/${seg(link.name)}/unpin`, status);
    if (data === undefined) return;
    flash(`Unpin of ${link.name} queued (${data.sync_id}): the head of ${link.branch} is applied next.`);
    await load();
  }

  async function unlink(link) {
    const ok = await confirmDialog({
      title: `Unlink ${link.name}?`,
      message: `Every connector this tenant got from ${link.url} (branch ${link.branch}) is deleted at once. Manual connectors and other links stay. The sync history is kept.`,
      confirmLabel: 'Unlink and delete its connectors',
    });
    if (!ok) return;
    try {
      const { data } = await api('DELETE', `${base}/${seg(link.name)}`);
      flash(`${link.name} unlinked; ${data.deleted.length} connector${data.deleted.length === 1 ? '' : 's'} removed.`);
      await load();
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Not unlinked' }));
    }
  }

  const input = (name, attrs = {}) => h('input', { type: 'text', name, autocomplete: 'off', spellcheck: false, ...attrs });
  const nameInput = input('name', { required: true, placeholder: 'gitlab-main' });
  const urlInput = input('url', { type: 'url', required: true, placeholder: 'https://gitlab.example.com/group/repo.git' });
  const branchInput = input('branch', { required: true, value: 'main' });
  const pathInput = input('path', { placeholder: 'connectors_registry.json' });
  const userInput = input('username', { placeholder: 'oauth2' });
  const secretInput = input('token_secret', { placeholder: 'name of a secret of this tenant' });
  const pollInput = input('poll_interval_s', { type: 'number', min: '0', placeholder: 'server default' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Link and sync');
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    h('h2', {}, 'Link a Git repository'),
    status,
    h(
      'div',
      { class: 'grid-3' },
      field('Name', nameInput, 'Lowercase letters, digits and "-"'),
      field('Clone URL', urlInput, 'HTTPS, without credentials'),
      field('Branch', branchInput, 'The branch that is applied'),
      field('Registry file', pathInput, 'Path in the repository; empty: connectors_registry.json'),
      field('User', userInput, 'For HTTP basic authentication; empty: oauth2'),
      field('Token secret', secretInput, 'A secret of this tenant holding the password or access token'),
      field('Polling (s)', pollInput, '0: webhooks only; empty: the server default'),
    ),
    h('p', { class: 'help' }, 'The branch is read before the link is stored. Webhooks: /webhooks/gitlab and /webhooks/gitea (see docs/sync.md).'),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const name = nameInput.value.trim();
    if (!NAME.test(name)) {
      status.append(errorBox({ code: 'INVALID_NAME', message: 'Name the link with lowercase letters, digits and "-", e.g. gitlab-main.' }));
      nameInput.focus();
      return;
    }
    const body = { url: urlInput.value.trim(), branch: branchInput.value.trim() };
    if (pathInput.value.trim() !== '') body.path = pathInput.value.trim();
    if (userInput.value.trim() !== '') body.username = userInput.value.trim();
    if (secretInput.value.trim() !== '') body.token_secret = secretInput.value.trim();
    if (pollInput.value.trim() !== '') body.poll_interval_s = Number(pollInput.value);
    submit.disabled = true;
    try {
      const { status: code, data } = await api('PUT', `${base}/${seg(name)}`, { json: body });
      flash(`${data.name} ${code === 201 ? 'linked' : 'updated'} (${data.url}, branch ${data.branch}); first sync ${data.sync_id} queued.`);
      nameInput.value = '';
      urlInput.value = '';
      await load();
    } catch (error) {
      status.append(errorBox(error, { title: 'Not linked' }));
    } finally {
      submit.disabled = false;
    }
  });

  const section = h('section', { class: 'git-links' }, h('h2', {}, 'Git links'), list, form);
  loading(list);
  load();
  every(5000, load, ctx.signal);
  return section;
}
