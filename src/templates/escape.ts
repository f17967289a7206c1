import { str } from './protocols.js';
import { Markup } from './values.js';

/**
 * markupsafe semantics: `escape()` turns a value into safe Markup (Markup passes through), a
 * Markup operation escapes its non-Markup operands. Same five replacements as markupsafe.
 */
const HTML_TEST = /[&<>"']/;

export function escapeHtml(s: string): string {
  if (!HTML_TEST.test(s)) return s;
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    let rep: string;
    switch (s.charCodeAt(i)) {
      case 38: rep = '&amp;'; break;
      case 60: rep = '&lt;'; break;
      case 62: rep = '&gt;'; break;
      case 34: rep = '&#34;'; break;
      case 39: rep = '&#39;'; break;
      default: continue;
    }
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return out + s.slice(last);
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
