import { Markup, str, nullProto } from './values.js';

/**
 * markupsafe semantics: `escape()` turns a value into safe Markup (Markup passes through), a
 * Markup operation escapes its non-Markup operands. Same five replacements as markupsafe.
 */
const HTML_ESCAPES: Record<string, string> = nullProto({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' });
const HTML_RE = /[&<>"']/g;

export function escapeHtml(s: string): string {
  return HTML_RE.test(s) ? ((HTML_RE.lastIndex = 0), s.replace(HTML_RE, (c) => HTML_ESCAPES[c]!)) : s;
}

/** markupsafe.escape */
export function escape(v: unknown): Markup {
  if (v instanceof Markup) return v;
  return new Markup(escapeHtml(str(v)));
}

/** markupsafe.soft_str: Markup stays Markup, everything else becomes str. */
export function softStr(v: unknown): string | Markup {
  return v instanceof Markup ? v : str(v);
}

/** The text of a str or Markup after escaping when the other side is Markup. */
export function markupJoin(parts: unknown[]): string | Markup {
  let markup = false;
  for (const p of parts) if (p instanceof Markup) markup = true;
  if (!markup) return parts.map((p) => str(p)).join('');
  return new Markup(parts.map((p) => escape(p).s).join(''));
}
