// The connector's runtime URL as a widget calls it: absolute (this dashboard is served by the same
// Gatehouse), with copy buttons and ready curl and fetch() snippets.

import { h } from '../dom.js';

/** A button that copies `text`; says "Copied" for a moment (or "Select and copy" where the clipboard is refused). */
export function copyButton(text, label) {
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy';
    }
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  });
  return button;
}

const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** `{url, curl, fetch}` for calling connector `c` from outside and from a widget. */
export function runtimeCall(c, origin = location.origin) {
  const composite = c.kind === 'composite';
  const method = composite ? 'POST' : (c.definition?.method ?? 'GET');
  const url = `${origin}/t/${encodeURIComponent(c.tenant)}/${composite ? 'composite-connectors' : 'connectors'}/${encodeURIComponent(c.permalink)}/execute`;
  const pathKeys = composite ? [] : (c.definition?.path_parameters ?? []).filter((p) => p.overridable !== false).map((p) => p.key);
  const pathHeader = pathKeys.map((k) => `${k}=…`).join('&');
  const hasBody = !['GET', 'HEAD'].includes(method);
  const curl = [
    `curl -sS ${method === 'GET' ? '' : `-X ${method} `}${shellQuote(url)}`,
    `  -H 'Authorization: Bearer <session token>'`,
    ...(pathHeader ? [`  -H ${shellQuote(`X-Path-Params: ${pathHeader}`)}`] : []),
    ...(hasBody ? [`  -H 'Content-Type: application/json' -d '{}'`] : []),
  ].join(' \\\n');
  const headers = [`Authorization: \`Bearer \${sessionToken}\``];
  if (pathHeader) headers.push(`'X-Path-Params': '${pathHeader}'`);
  if (hasBody) headers.push(`'Content-Type': 'application/json'`);
  const fetchCode = [
    `const res = await fetch('${url}', {`,
    `  method: '${method}',`,
    `  headers: { ${headers.join(', ')} },`,
    ...(hasBody ? ['  body: JSON.stringify({}),'] : []),
    '});',
    'const data = await res.json();',
  ].join('\n');
  return { method, url, curl, fetch: fetchCode };
}

/** The runtime URL row's content: method, absolute URL, copy. */
export function runtimeUrl(c) {
  const call = runtimeCall(c);
  return h('span', { class: 'runtime-url' }, h('code', { class: 'break' }, `${call.method} ${call.url}`), ' ', copyButton(call.url, 'runtime URL'));
}

/** A section with the curl and fetch() snippets, each with its copy button. */
export function callSnippets(c) {
  const call = runtimeCall(c);
  const snippet = (title, text) =>
    h('div', { class: 'snippet' }, h('div', { class: 'snippet-head' }, h('h3', {}, title), copyButton(text, `${title} snippet`)), h('pre', { class: 'code-block', tabindex: 0, 'aria-label': `${title} snippet` }, text));
  return h(
    'section',
    { class: 'card snippets', 'aria-label': 'Calling this connector' },
    h('h2', {}, 'Calling this connector'),
    h('p', { class: 'muted' }, 'Widgets send the signed-in user\'s session token; without one the call is anonymous. Try one with gatehouse session-token.'),
    snippet('curl', call.curl),
    snippet('fetch()', call.fetch),
  );
}
