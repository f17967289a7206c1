import { templatedFields } from './fields.js';
import { checkTemplate } from './template-check.js';
import { indexOfLineColumn } from './template-scan.js';
import type { Rule } from './types.js';

/**
 * Every templated field compiles for its field (docs/design.md#templates-are-checked-when-saved: syntax and the availability matrix of
 * docs/templates.md#fields-escaping-and-what-is-available are checked at save time, never left to a run-time surprise), and the secret and
 * variable names it references can exist (docs/admin-api.md#secrets-and-variables naming rule).
 */

const NAME_RULE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const templatesRule: Rule = (doc, _options, report) => {
  for (const target of doc.targets) {
    for (const f of templatedFields(target)) {
      const result = checkTemplate(f.source, f.field);
      if (!result.ok) {
        // get_secret in a URL already has its own, more specific message from the URL rule.
        if (result.kind === 'availability' && (f.label === 'url' || f.label === 'authentication token_url') && /get_secret/.test(result.message)) continue;
        // Availability messages already say what is not available where, and where it can be used.
        const prefix = result.kind === 'syntax' ? 'template syntax error: ' : result.kind === 'availability' ? '' : 'template error: ';
        report({
          path: f.path,
          at: { index: indexOfLineColumn(f.source, result.line, result.column) },
          message: `${prefix}${result.message}`,
        });
        continue;
      }
      for (const [fn, names, kind] of [['get_secret', result.secretNames, 'secret'], ['get_variable', result.variableNames, 'variable']] as const) {
        for (const name of names) {
          if (NAME_RULE.test(name)) continue;
          const at = Math.max(0, f.source.search(new RegExp(`${fn}\\s*\\(\\s*['"]${escapeRegExp(name)}`)));
          report({
            path: f.path,
            at: { index: at },
            message: `${fn}('${name}') can never resolve: ${kind} names contain only letters, digits and "_" and do not start with a digit (e.g. '${suggestName(name)}')`,
          });
        }
      }
    }
  }
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function suggestName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return cleaned === '' ? 'my_name' : /^\d/.test(cleaned) ? `_${cleaned}` : cleaned;
}
