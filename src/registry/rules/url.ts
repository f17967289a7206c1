import { urlFields } from './fields.js';
import type { Rule } from './types.js';
import { checkUrlTemplate } from './url-template.js';

/**
 * Spec §4 URL rules for every URL a connector makes Gatehouse call: connector url, composite step
 * url and OAuth token_url (decisions 11, 25, 26, 40).
 */
export const urlRule: Rule = (doc, options, report) => {
  for (const target of doc.targets) {
    for (const field of urlFields(target)) {
      if (field.source === '') continue;
      for (const problem of checkUrlTemplate(field.source, options)) {
        report({ path: field.path, at: { index: problem.index }, message: problem.message });
      }
    }
  }
};
