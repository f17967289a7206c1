import { HTTP_TOKEN } from './auth.js';
import { isRecord, type Rule } from './types.js';

/**
 * Header keys are literal HTTP field names (RFC 9110 token characters). Connection-level headers are
 * Gatehouse's to set: a configured value would break the request (Content-Length, Transfer-Encoding)
 * or let a connector redirect it (Host).
 */
export const MANAGED_HEADERS = new Map<string, string>([
  ['host', 'is derived from the url'],
  ['content-length', 'is computed from the body'],
  ['transfer-encoding', 'is chosen by the HTTP client'],
  ['connection', 'is managed by the HTTP client'],
  ['keep-alive', 'is managed by the HTTP client'],
  ['proxy-connection', 'is managed by the HTTP client'],
  ['upgrade', 'cannot be used for upstream calls'],
  ['te', 'is managed by the HTTP client'],
  ['trailer', 'is managed by the HTTP client'],
  ['expect', 'is not supported for upstream calls'],
]);

export const headerNamesRule: Rule = (doc, _options, report) => {
  for (const target of doc.targets) {
    const headers = target.value.headers;
    if (!Array.isArray(headers)) continue;
    headers.forEach((h, i) => {
      if (!isRecord(h) || typeof h.key !== 'string' || h.key === '') return;
      const path = `${target.path}/headers/${i}/key`;
      if (!HTTP_TOKEN.test(h.key)) {
        report({ path, at: 'value', message: `${JSON.stringify(h.key)} is not a valid header name: use letters, digits and "-" (no spaces, colons or templates)` });
        return;
      }
      const why = MANAGED_HEADERS.get(h.key.toLowerCase());
      if (why !== undefined) report({ path, at: 'value', message: `the "${h.key}" header ${why} and cannot be configured: remove this entry` });
    });
  }
};
