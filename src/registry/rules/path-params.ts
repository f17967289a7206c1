import { scanTemplate, variableReferences } from './template-scan.js';
import { isRecord, type Rule } from './types.js';

/**
 * Path parameters (docs/design.md#path-parameters): every `pathParams.X` in the url is declared in
 * path_parameters and every declared key is used in the url; a default value is a valid path
 * segment; `overridable: false` only makes sense with a value to pin.
 */
export const pathParametersRule: Rule = (doc, _options, report) => {
  for (const target of doc.targets) {
    // pathParams outside a connector's url is an availability error of the template engine.
    if (target.kind === 'step') continue;
    const url = target.value.url;
    const declared = new Map<string, number>();
    const rows = target.value.path_parameters;
    if (Array.isArray(rows)) {
      rows.forEach((row, i) => {
        if (isRecord(row) && typeof row.key === 'string' && row.key !== '' && !declared.has(row.key)) declared.set(row.key, i);
      });
    }
    const used = new Set<string>();
    const urlPath = `${target.path}/url`;
    for (const ref of typeof url === 'string' ? variableReferences(scanTemplate(url), 'pathParams') : []) {
      if (ref.member === undefined) {
        report({ path: urlPath, at: { index: ref.start }, message: 'refer to path parameters by a literal name, e.g. {{ pathParams.idea_id }} or {{ pathParams[\'idea-id\'] }}, so they can be checked against path_parameters' });
        continue;
      }
      used.add(ref.member);
      if (!declared.has(ref.member)) {
        report({
          path: urlPath,
          at: { index: ref.start },
          message: `the url uses pathParams.${ref.member} but path_parameters does not declare it: add {"key": "${ref.member}"} to path_parameters`,
        });
      }
    }
    if (!Array.isArray(rows)) continue;
    const urlIsString = typeof url === 'string';
    rows.forEach((row, i) => {
      if (!isRecord(row)) return;
      const rowPath = `${target.path}/path_parameters/${i}`;
      if (urlIsString && typeof row.key === 'string' && row.key !== '' && !used.has(row.key)) {
        report({
          path: `${rowPath}/key`,
          at: 'value',
          message: `path parameter "${row.key}" is declared but the url never uses it: reference it in the url as {{ pathParams.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(row.key) ? row.key : `['${row.key}']`} }} or remove it`,
        });
      }
      if (typeof row.value === 'string' && (row.value === '.' || row.value === '..' || row.value.includes('..'))) {
        report({ path: `${rowPath}/value`, at: 'value', message: `default value ${JSON.stringify(row.value)} would be a path traversal segment: "." and ".." are not allowed` });
      }
      if (row.overridable === false && row.value === undefined) {
        report({
          path: `${rowPath}/overridable`,
          at: 'value',
          message: '"overridable": false pins the parameter to its "value", but no "value" is set: add a "value" or remove "overridable"',
        });
      }
    });
  }
};
