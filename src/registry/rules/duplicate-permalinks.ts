import { derivePermalink, isValidPermalink } from '../permalink.js';
import type { Rule } from './types.js';

/**
 * Permalinks are unique within a file; connectors and composite connectors share one namespace
 * (the runtime addresses both by permalink within a tenant).
 */
export const duplicatePermalinksRule: Rule = (doc, _options, report) => {
  const seen = new Map<string, { path: string; name: unknown }>();
  for (const entry of [...doc.connectors, ...doc.composites]) {
    const { name, permalink } = entry.value;
    const explicit = typeof permalink === 'string';
    const effective = explicit ? permalink : typeof name === 'string' ? derivePermalink(name) : '';
    if (effective === '' || !isValidPermalink(effective)) continue;
    const first = seen.get(effective);
    if (first === undefined) {
      seen.set(effective, { path: entry.path, name });
      continue;
    }
    const firstLabel = `${first.path}${typeof first.name === 'string' ? ` (${JSON.stringify(first.name)})` : ''}`;
    report({
      path: `${entry.path}/${explicit ? 'permalink' : 'name'}`,
      at: 'value',
      message: `duplicate permalink "${effective}"${explicit ? '' : ' (derived from the name)'}: ${firstLabel} already uses it; connectors and composite connectors share one namespace, so rename one or give it a distinct "permalink"`,
    });
  }
};
