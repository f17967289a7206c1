// The unpin flow shared by the repository-link and Git-link lists: the same question, the same
// request, the same refusal box.
import { api } from '../api.js';
import { confirmDialog } from './dialog.js';
import { errorBox } from './errors.js';

/**
 * Asks whether to unpin the link shown as `label`, then POSTs to `path`. Returns the queued sync's
 * answer; undefined when the user cancelled or the server refused (its error is shown in `status`).
 */
export async function unpinLink(label, link, path, status) {
  const ok = await confirmDialog({
    title: `Unpin ${label}?`,
    message: `The head of branch ${link.branch} is applied now and ${label} follows the branch again: its next pushes are applied. If the head fails validation, the link stays pinned to ${link.pin.commit.slice(0, 7)} and the errors are on the sync record.`,
    confirmLabel: 'Unpin and apply the branch head',
    danger: false,
  });
  if (!ok) return undefined;
  try {
    const { data } = await api('POST', path);
    return data;
  } catch (error) {
    status.replaceChildren(errorBox(error, { title: 'Not unpinned' }));
    return undefined;
  }
}
