import { urlFields } from './fields.js';
import type { Rule } from './types.js';
import { checkUrlTemplate } from './url-template.js';

/**
 * docs/registry.md#urls URL rules for every URL a connector makes Gatehouse call: connector url, composite step
 * url and OAuth token_url (docs/design.md#address-guard).
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
