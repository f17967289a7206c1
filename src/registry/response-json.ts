import { compileTemplate, type TemplateField } from '../templates/index.js';
import { templateUser } from '../runtime/render-template.js';
import { parseJsonWithPositions } from './json-source.js';

/**
 * Warning: a connector (or composite step) whose `response_content_type` is JSON and whose
 * response template does not produce JSON. Printing a value in a body template prints its
 * Python repr, HTML-escaped (`{{ items }}` → `[{&#39;id&#39;: 1}]`), which no JSON parser reads;
 * the fix is to serialise with `| tojson`.
 *
 * Whether a template produces JSON depends on the upstream's answer, so it is tried once on a
 * sample: the sandboxed renderer runs it with `response` a 200 answer whose body is a small JSON
 * document, `user` anonymous, `tenant_id` "sample", and every other name the template reads
 * without defining bound to a list of sample records. The output is JSON-parsed; only output
 * that parses as no JSON is reported. A template that fails on the sample (it expects another
 * shape) says nothing about JSON and is not reported. Never an error: activation is not blocked.
 */

export interface ResponseJsonWarning {
  /** JSON pointer of the template (`/connectors/0/response_body`, `/response_body` in Code Mode). */
  path: string;
  line: number;
  column: number;
  message: string;
}

const SAMPLE_RECORDS = [{ id: 1, name: 'Sample', value: 42 }];
const SAMPLE_BODY = JSON.stringify({ id: 1, name: 'Sample', items: SAMPLE_RECORDS, data: SAMPLE_RECORDS });
/** Names the runtime provides (or the engine defines): never replaced by sample records. */
const PROVIDED = new Set(['response', 'user', 'tenant_id', 'now', 'steps', 'request', 'pathParams', 'body_text', 'body_raw',
  'get_secret', 'get_variable', 'jwt_encode', 'range', 'dict', 'namespace', 'cycler', 'joiner', 'lipsum', 'loop', 'caller', 'self', 'varargs', 'kwargs']);
const PREVIEW_CHARS = 60;

/** `application/json`, `text/json`, `application/problem+json`, with or without parameters. */
export function isJsonMediaType(type: string): boolean {
  return /^\s*(?:application|text)\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(type);
}

/** What the template renders on the sample, or undefined when it cannot render it (not reported). */
export function renderOnSample(source: string, field: TemplateField): string | undefined {
  try {
    const template = compileTemplate(source, field);
    if (template.usesAsync) return undefined;
    const vars: Record<string, unknown> = {
      response: { status_code: 200, headers: { 'content-type': 'application/json' }, body: SAMPLE_BODY },
      user: templateUser(undefined),
      tenant_id: 'sample',
    };
    for (const name of template.freeNames) if (!PROVIDED.has(name)) vars[name] = SAMPLE_RECORDS;
    return template.render({ vars, now: 1_700_000_000 });
  } catch {
    return undefined;
  }
}

/** The warning for one template, or undefined when its sample output is JSON (or inconclusive). */
export function responseJsonProblem(source: string, contentType: string, field: TemplateField): string | undefined {
  if (source === '' || !isJsonMediaType(contentType)) return undefined;
  const output = renderOnSample(source, field);
  if (output === undefined || parsesAsJson(output)) return undefined;
  const type = contentType.trim();
  if (output.trim() === '') {
    return `response_content_type is "${type}" but on a sample 200 response the response template renders nothing, which is not JSON: make every branch print a JSON value, e.g. {{ {'items': []} | tojson }}`;
  }
  const shown = `\`${output.length > PREVIEW_CHARS ? `${output.slice(0, PREVIEW_CHARS)}…` : output}\``;
  const single = /^\s*\{\{-?\s*([\s\S]+?)\s*-?\}\}\s*$/.exec(source);
  const expression = single !== null && !single[1]!.includes('{{') ? single[1] : undefined;
  if (parsesAsJson(htmlUnescape(output))) {
    // A JSON text printed as a string: autoescape turned its quotes into entities.
    const fix = expression !== undefined ? `write {{ ${expression} | safe }} to pass it through, or {{ ${expression} | from_json | tojson }} to re-serialise it` : 'print JSON text with `| safe`, or parse it with `| from_json` and print it with `| tojson`';
    return `response_content_type is "${type}" but on a sample response the response template renders ${shown}: JSON text HTML-escaped by autoescape, which is not JSON: ${fix}`;
  }
  const fix = expression !== undefined
    ? `write {{ ${expression} | tojson }}`
    : "build the answer as a dict or list and print it once with `| tojson` (e.g. {{ {'items': data['items']} | tojson }})";
  return `response_content_type is "${type}" but on a sample response the response template renders ${shown}, which is not JSON (a printed value is its Python repr, HTML-escaped): ${fix}`;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The entities autoescape writes (markupsafe's five). */
function htmlUnescape(text: string): string {
  return text.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Every JSON-typed response template of a valid registry file (`file`), Code Mode connector
 * (`connector`) or composite (`composite`) that renders no JSON on the sample, at the position
 * of its `response_body`.
 */
export function responseJsonWarnings(text: string, kind: 'file' | 'connector' | 'composite'): ResponseJsonWarning[] {
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok || !isObject(parsed.value)) return [];
  const targets: { path: string; value: Record<string, unknown>; field: TemplateField }[] = [];
  if (kind === 'connector') targets.push({ path: '', value: parsed.value, field: 'response_body' });
  else if (kind === 'composite') objects(parsed.value.steps).forEach((s, j) => targets.push({ path: `/steps/${j}`, value: s, field: 'composite_response_body' }));
  else {
    objects(parsed.value.connectors).forEach((c, i) => targets.push({ path: `/connectors/${i}`, value: c, field: 'response_body' }));
    objects(parsed.value.composite_connectors).forEach((c, i) => {
      objects(c.steps).forEach((s, j) => targets.push({ path: `/composite_connectors/${i}/steps/${j}`, value: s, field: 'composite_response_body' }));
    });
  }
  const warnings: ResponseJsonWarning[] = [];
  for (const t of targets) {
    const { response_body: body, response_content_type: type } = t.value;
    if (typeof body !== 'string' || typeof type !== 'string') continue;
    const message = responseJsonProblem(body, type, t.field);
    if (message === undefined) continue;
    const path = `${t.path}/response_body`;
    warnings.push({ path, ...parsed.locator.value(path), message });
  }
  return warnings;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function objects(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map((x) => (isObject(x) ? x : {})) : [];
}
