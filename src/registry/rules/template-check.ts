import nunjucks from 'nunjucks';
import { functionCalls, scanTemplate } from './template-scan.js';

/**
 * The validator's view of the template engine: compile one template for one field and say whether
 * it is valid there (syntax and the availability matrix, decision 6) and which secrets and
 * variables it names.
 *
 * Until the engine (src/templates, issue 3) lands, syntax is checked with nunjucks' parser and the
 * names are read with the light lexer; availability is then not yet checked.
 */

export type TemplateField =
  | 'url' | 'header' | 'query' | 'auth' | 'request_body' | 'response_body'
  | 'composite_url' | 'composite_header' | 'composite_query' | 'composite_auth'
  | 'composite_request_body' | 'composite_response_body';

export type TemplateCheck =
  | { ok: true; secretNames: readonly string[]; variableNames: readonly string[] }
  | { ok: false; kind: 'syntax' | 'availability' | 'runtime' | 'limit'; message: string; line: number; column: number };

interface NunjucksParseError {
  message?: string;
  lineno?: number;
  colno?: number;
}

const parser = (nunjucks as unknown as { parser: { parse(src: string): unknown } }).parser;

const cache = new Map<string, TemplateCheck>();
const CACHE_LIMIT = 5000;

/** Results are memoised by (field, source): registry files repeat templates across connectors. */
export function checkTemplate(source: string, field: TemplateField): TemplateCheck {
  const key = `${field}\u0000${source}`;
  let result = cache.get(key);
  if (result === undefined) {
    result = checkUncached(source, field);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, result);
  }
  return result;
}

function checkUncached(source: string, _field: TemplateField): TemplateCheck {
  if (!source.includes('{')) return { ok: true, secretNames: [], variableNames: [] };
  try {
    parser.parse(source);
  } catch (err) {
    const e = err as NunjucksParseError;
    const lines = source.split('\n');
    const line = e.lineno ?? lines.length;
    const column = e.colno ?? (lines[lines.length - 1]?.length ?? 0) + 1;
    const message = (e.message ?? String(err)).replace(/^.*\n\s*/s, '').trim();
    return { ok: false, kind: 'syntax', message, line, column };
  }
  const scan = scanTemplate(source);
  const names = (fn: string): string[] | TemplateCheck => {
    const out: string[] = [];
    for (const call of functionCalls(scan, fn)) {
      const [arg, next] = call.args;
      if (arg?.type !== 'string' || (next !== undefined && next.value !== ',')) {
        const at = lineColumn(source, call.start);
        return { ok: false, kind: 'syntax', message: `${fn}() needs a quoted literal name, e.g. ${fn}('name')`, ...at };
      }
      out.push(arg.value);
    }
    return out;
  };
  const secretNames = names('get_secret');
  if (!Array.isArray(secretNames)) return secretNames;
  const variableNames = names('get_variable');
  if (!Array.isArray(variableNames)) return variableNames;
  return { ok: true, secretNames, variableNames };
}

function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}
