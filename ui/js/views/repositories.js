// Repository links of a tenant: link a branch (queues a first sync), resync, unlink (removes the
// link's connectors, after confirmation), unpin a link a rollback pinned, and each link's last
// sync, refreshed while one is running.

import { api, repositoryPath as repoPath, seg } from '../api.js';
import { field, h } from '../dom.js';
import { confirmDialog } from '../components/dialog.js';
import { errorBox } from '../components/errors.js';
import { lastSyncCell, liveCommitCell } from '../components/link-cells.js';
import { table } from '../components/table.js';
import { unpinLink } from '../components/unpin.js';
import { timeEl } from '../format.js';
import { flash, loading, showError } from '../page.js';
import { every } from '../router.js';
import { gitLinksSection } from './git-links.js';
import { tenantFrame } from './tenants.js';

const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
// The pattern attribute is compiled with the `v` flag: "-", "/" and "." are escaped there.
const REPOSITORY_PATTERN = '[A-Za-z0-9\\-]+\\/[A-Za-z0-9._\\-]+';


export async function repositoriesTab(ctx) {
  const frame = await tenantFrame(ctx, 'repositories');
  if (!frame) return;
  const tenant = frame.tenant.id;
  const list = h('div');
  const webhook = h('div');
  const status = h('div');
  let lastJson = '';

  async function load() {
    try {
      const [{ data }, { data: hook }] = await Promise.all([
        api('GET', `/tenants/${seg(tenant)}/repositories`, { signal: ctx.signal }),
        api('GET', '/webhook', { signal: ctx.signal }),
      ]);
      if (hook) {
        // Without PUBLIC_URL the service does not know its public address: this page's origin is the best guess.
        const url = hook.url ?? `${location.origin}${hook.path}`;
        webhook.replaceChildren(
          h(
            'p',
            { class: 'help webhook-info' },
            'Webhook payload URL: ',
            h('code', { class: 'webhook-url' }, url),
            ' · events: push, pull request · secret: ',
            hook.secret_configured
              ? h('span', { class: 'webhook-secret' }, 'configured')
              : h('strong', { class: 'webhook-secret' }, 'not configured (GITHUB_WEBHOOK_SECRET is unset: deliveries are refused)'),
          ),
        );
      }
      const json = JSON.stringify(data.items);
      if (json === lastJson) return;
      lastJson = json;
      list.replaceChildren(
        table(
          [
            { label: 'Repository', cell: (l) => h('a', { href: `#/syncs?tenant=${seg(tenant)}&repository=${seg(l.repository)}` }, l.repository) },
            { label: 'Branch', cell: (l) => h('code', {}, l.branch) },
            { label: 'File', cell: (l) => h('code', {}, l.path) },
            { label: 'Live commit', cell: (l) => liveCommitCell(l.applied_commit, l.pin) },
            { label: 'Last sync', cell: (l) => lastSyncCell(l.last_sync) },
            { label: 'Linked', cell: (l) => timeEl(l.created_at) },
            {
              label: 'Actions',
              cell: (l) =>
                h(
                  'div',
                  { class: 'row-actions' },
                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Resync ${l.repository}`, onclick: (e) => resync(l, e.currentTarget) }, 'Resync'),
                  l.pin ? h('button', { type: 'button', class: 'secondary small', 'aria-label': `Unpin ${l.repository}`, onclick: () => unpin(l) }, 'Unpin') : null,
                  h('button', { type: 'button', class: 'danger small', 'aria-label': `Unlink ${l.repository}`, onclick: () => unlink(l) }, 'Unlink'),
                ),
            },
          ],
          data.items,
          { caption: `${data.items.length} linked repositor${data.items.length === 1 ? 'y' : 'ies'}`, empty: 'No repository is linked. Link one below: its connectors_registry.json becomes the source of this tenant’s repository connectors.' },
        ),
      );
    } catch (error) {
      lastJson = '';
      showError(list, error, 'Could not load the repositories');
    }
  }

  async function resync(link, button) {
    button.disabled = true;
    try {
      const { data } = await api('POST', `${repoPath(tenant, link.repository)}/sync`);
      flash(`Resync of ${link.repository} queued (${data.sync_id}).`);
      await load();
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Resync not queued' }));
    } finally {
      button.disabled = false;
    }
  }

  async function unpin(link) {
    const data = await unpinLink(link.repository, link, `${repoPath(tenant, link.repository)}/unpin`, status);
    if (data === undefined) return;
    flash(`Unpin of ${link.repository} queued (${data.sync_id}): the head of ${link.branch} is applied next.`);
    await load();
  }

  async function unlink(link) {
    const ok = await confirmDialog({
      title: `Unlink ${link.repository}?`,
      message: `Every connector this tenant got from ${link.repository} (branch ${link.branch}) is deleted at once. Manual connectors and other repositories stay. The sync history is kept.`,
      confirmLabel: 'Unlink and delete its connectors',
    });
    if (!ok) return;
    try {
      const { data } = await api('DELETE', repoPath(tenant, link.repository));
      flash(`${link.repository} unlinked; ${data.deleted.length} connector${data.deleted.length === 1 ? '' : 's'} removed.`);
      await load();
    } catch (error) {
      status.replaceChildren(errorBox(error, { title: 'Not unlinked' }));
    }
  }

  const repoInput = h('input', { type: 'text', name: 'repository', required: true, placeholder: 'owner/repo', autocomplete: 'off', spellcheck: false, pattern: REPOSITORY_PATTERN });
  const branchInput = h('input', { type: 'text', name: 'branch', required: true, value: 'main', autocomplete: 'off', spellcheck: false });
  const pathInput = h('input', { type: 'text', name: 'path', placeholder: 'connectors_registry.json', autocomplete: 'off', spellcheck: false });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Link and sync');
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    h('h2', {}, 'Link a repository'),
    status,
    h(
      'div',
      { class: 'grid-3' },
      field('Repository', repoInput, 'owner/repo on GitHub'),
      field('Branch', branchInput, 'The branch whose pushes are applied'),
      field('Registry file', pathInput, 'Path in the repository; empty: connectors_registry.json'),
    ),
    h('p', { class: 'help' }, 'Linking queues a first sync at once. Linking an already linked repository again changes its branch or file and re-applies it.'),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.replaceChildren();
    const repository = repoInput.value.trim();
    if (!REPOSITORY.test(repository)) {
      status.append(errorBox({ code: 'INVALID_REPOSITORY', message: 'Write the repository as owner/repo.' }));
      repoInput.focus();
      return;
    }
    const body = { branch: branchInput.value.trim() };
    if (pathInput.value.trim() !== '') body.path = pathInput.value.trim();
    submit.disabled = true;
    try {
      const { status: code, data } = await api('PUT', repoPath(tenant, repository), { json: body });
      flash(`${data.repository} ${code === 201 ? 'linked' : 'updated'} (branch ${data.branch}, ${data.path}); first sync ${data.sync_id} queued.`);
      repoInput.value = '';
      pathInput.value = '';
      await load();
    } catch (error) {
      status.append(errorBox(error, { title: 'Not linked' }));
    } finally {
      submit.disabled = false;
    }
  });

  frame.body.append(h('h2', {}, 'Linked repositories'), webhook, list, form, gitLinksSection(tenant, ctx));
  loading(list);
  await load();
  every(5000, load, ctx.signal);
}
