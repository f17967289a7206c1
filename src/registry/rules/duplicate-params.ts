import { isRecord, type Rule } from './types.js';

/**
 * Keys are unique within headers, query_parameters and path_parameters (docs/registry.md#parameters-and-headers). Header names
 * compare case-insensitively, as HTTP does (docs/design.md#merge-rules); query and path keys case-sensitively.
 */
const LISTS = [
  { list: 'headers', what: 'header', fold: true },
  { list: 'query_parameters', what: 'query parameter', fold: false },
  { list: 'path_parameters', what: 'path parameter', fold: false },
] as const;

export const duplicateParamKeysRule: Rule = (doc, _options, report) => {
  for (const target of doc.targets) {
    for (const { list, what, fold } of LISTS) {
      if (list === 'path_parameters' && target.kind === 'step') continue;
      const items = target.value[list];
      if (!Array.isArray(items)) continue;
      const seen = new Map<string, number>();
      items.forEach((item, i) => {
        if (!isRecord(item) || typeof item.key !== 'string' || item.key === '') return;
        const id = fold ? item.key.toLowerCase() : item.key;
        const first = seen.get(id);
        if (first === undefined) {
          seen.set(id, i);
          return;
        }
        report({
          path: `${target.path}/${list}/${i}/key`,
          at: 'value',
          message: `duplicate ${what} "${item.key}": ${list}/${first} already declares it${fold ? ' (header names are case-insensitive)' : ''}; keep one entry`,
        });
      });
    }
  }
};
