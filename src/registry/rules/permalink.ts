import { derivePermalink } from '../permalink.js';
import type { Rule } from './types.js';

/**
 * docs/design.md#permalinks: a connector or composite without "permalink" gets one derived from its name; a name
 * with no letter or digit derives nothing, so it needs an explicit permalink. (The pattern and
 * length of an explicit permalink are schema rules.)
 */
export const permalinkDerivationRule: Rule = (doc, _options, report) => {
  for (const entry of [...doc.connectors, ...doc.composites]) {
    const { name, permalink } = entry.value;
    if (permalink !== undefined || typeof name !== 'string' || name === '') continue;
    if (derivePermalink(name) === '') {
      report({
        path: `${entry.path}/name`,
        at: 'value',
        message: `the name ${JSON.stringify(name)} has no letters or digits, so no permalink can be derived from it: add "permalink", e.g. "my-connector"`,
      });
    }
  }
};
