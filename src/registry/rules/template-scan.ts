/**
 * A light Jinja2 lexer for the structural rules that need to know *where* template tags are (the
 * URL host rules, path-parameter references). It splits a template into literal text and tags and
 * tokenises tag contents; it does not parse expressions — syntax errors are the template engine's
 * job, and a template that does not scan cleanly is left to it.
 */

export interface Token {
  type: 'name' | 'string' | 'number' | 'op';
  /** For strings: the decoded literal; otherwise the token text. */
  value: string;
  /** Offset of the token in the template source. */
  start: number;
  end: number;
}

export type Segment =
  | { kind: 'text'; start: number; end: number; text: string }
  | { kind: 'expr' | 'stmt' | 'comment'; start: number; end: number; inner: string; innerStart: number; tokens: Token[] };

export interface Scan {
  segments: Segment[];
  /** False when a tag or string is not terminated (the engine reports the syntax error). */
  complete: boolean;
}

const OPEN: Record<string, { kind: 'expr' | 'stmt' | 'comment'; close: string }> = {
  '{{': { kind: 'expr', close: '}}' },
  '{%': { kind: 'stmt', close: '%}' },
  '{#': { kind: 'comment', close: '#}' },
};

// Rules scan the same field several times, and registry files repeat templates across connectors.
const cache = new Map<string, Scan>();
const CACHE_LIMIT = 5000;

/** Scans are immutable and memoised by source. */
export function scanTemplate(source: string): Scan {
  let scan = cache.get(source);
  if (scan === undefined) {
    scan = scanUncached(source);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(source, scan);
  }
  return scan;
}

function scanUncached(source: string): Scan {
  const segments: Segment[] = [];
  let pos = 0;
  let textStart = 0;
  const flushText = (end: number) => {
    if (end > textStart) segments.push({ kind: 'text', start: textStart, end, text: source.slice(textStart, end) });
  };
  while (pos < source.length) {
    const brace = source.indexOf('{', pos);
    if (brace === -1) break;
    pos = brace;
    const open = OPEN[source.slice(pos, pos + 2)];
    if (open === undefined) {
      pos += 1;
      continue;
    }
    flushText(pos);
    const tagStart = pos;
    let innerStart = pos + 2;
    if (source[innerStart] === '-' || source[innerStart] === '+') innerStart += 1;
    const closeAt = findClose(source, innerStart, open.close, open.kind !== 'comment');
    if (closeAt === -1) return { segments, complete: false };
    let innerEnd = closeAt;
    if (source[innerEnd - 1] === '-' && innerEnd - 1 >= innerStart) innerEnd -= 1;
    const inner = source.slice(innerStart, innerEnd);
    const tokens = open.kind === 'comment' ? [] : tokenize(inner, innerStart);
    if (tokens === undefined) return { segments, complete: false };
    pos = closeAt + 2;
    segments.push({ kind: open.kind, start: tagStart, end: pos, inner, innerStart, tokens });
    textStart = pos;
    if (open.kind === 'stmt' && tokens.length === 1 && tokens[0]!.value === 'raw') {
      // {% raw %}…{% endraw %}: the content is literal text.
      const endRaw = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;
      endRaw.lastIndex = pos;
      const m = endRaw.exec(source);
      if (m === null) return { segments, complete: false };
      if (m.index > pos) segments.push({ kind: 'text', start: pos, end: m.index, text: source.slice(pos, m.index) });
      pos = m.index + m[0].length;
      segments.push({ kind: 'stmt', start: m.index, end: pos, inner: 'endraw', innerStart: m.index + 2, tokens: [] });
      textStart = pos;
    }
  }
  flushText(source.length);
  return { segments, complete: true };
}

function findClose(source: string, from: number, close: string, stringsMatter: boolean): number {
  let i = from;
  while (i < source.length) {
    const c = source[i]!;
    if (stringsMatter && (c === '"' || c === "'")) {
      const end = stringEnd(source, i);
      if (end === -1) return -1;
      i = end;
      continue;
    }
    if (source.startsWith(close, i)) return i;
    i += 1;
  }
  return -1;
}

/** Offset just past the string literal starting at `start`, or -1 when it is not terminated. */
function stringEnd(source: string, start: number): number {
  const quote = source[start];
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return -1;
}

const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '~'];
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SPACE = /\s/;

function tokenize(inner: string, base: number): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < inner.length) {
    const c = inner[i]!;
    if (SPACE.test(c)) {
      i += 1;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = stringEnd(inner, i);
      if (end === -1) return undefined;
      tokens.push({ type: 'string', value: decodeString(inner.slice(i + 1, end - 1)), start: base + i, end: base + end });
      i = end;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(inner);
    if (name !== null) {
      tokens.push({ type: 'name', value: name[0], start: base + i, end: base + i + name[0].length });
      i += name[0].length;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(inner);
    if (num !== null) {
      tokens.push({ type: 'number', value: num[0], start: base + i, end: base + i + num[0].length });
      i += num[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => inner.startsWith(o, i)) ?? c;
    tokens.push({ type: 'op', value: op, start: base + i, end: base + i + op.length });
    i += op.length;
  }
  return tokens;
}

function decodeString(body: string): string {
  return body.replace(/\\(.)/g, (_, ch: string) => ({ n: '\n', t: '\t', r: '\r' })[ch] ?? ch);
}

/** Tags (not text) of a scan. */
export function tags(scan: Scan): Extract<Segment, { tokens: Token[] }>[] {
  return scan.segments.filter((s): s is Extract<Segment, { tokens: Token[] }> => s.kind !== 'text');
}

/** Calls of a global function (`name(` not preceded by `.`), e.g. every `get_secret(`. */
export function functionCalls(scan: Scan, fn: string): { start: number; args: Token[] }[] {
  const calls: { start: number; args: Token[] }[] = [];
  for (const tag of tags(scan)) {
    const t = tag.tokens;
    for (let i = 0; i < t.length; i++) {
      if (t[i]!.type === 'name' && t[i]!.value === fn && t[i + 1]?.value === '(' && t[i - 1]?.value !== '.') {
        let depth = 0;
        const args: Token[] = [];
        for (let j = i + 1; j < t.length; j++) {
          if (t[j]!.value === '(' || t[j]!.value === '[' || t[j]!.value === '{') depth += 1;
          else if (t[j]!.value === ')' || t[j]!.value === ']' || t[j]!.value === '}') depth -= 1;
          if (depth === 0) break;
          if (j > i + 1) args.push(t[j]!);
        }
        calls.push({ start: t[i]!.start, args });
      }
    }
  }
  return calls;
}

export interface NameReference {
  /** The literal member name, or undefined for a dynamic use (`pathParams[x]`, bare `pathParams`). */
  member: string | undefined;
  start: number;
}

/** Uses of a top-level variable such as `pathParams` or `steps`: `v.member`, `v['member']`, or dynamic. */
export function variableReferences(scan: Scan, variable: string): NameReference[] {
  const refs: NameReference[] = [];
  for (const tag of tags(scan)) {
    const t = tag.tokens;
    for (let i = 0; i < t.length; i++) {
      const tok = t[i]!;
      if (tok.type !== 'name' || tok.value !== variable || t[i - 1]?.value === '.') continue;
      // `{% set pathParams = … %}` or a loop variable of the same name would shadow it; rare enough to read as a use.
      const next = t[i + 1];
      if (next?.value === '.' && t[i + 2]?.type === 'name') refs.push({ member: t[i + 2]!.value, start: tok.start });
      else if (next?.value === '[' && t[i + 2]?.type === 'string' && t[i + 3]?.value === ']') refs.push({ member: t[i + 2]!.value, start: tok.start });
      else refs.push({ member: undefined, start: tok.start });
    }
  }
  return refs;
}

/** 1-based line/column inside a template → the decoded string index (for pointing into the JSON string). */
export function indexOfLineColumn(source: string, line: number, column: number): number {
  let index = 0;
  for (let l = 1; l < line; l++) {
    const nl = source.indexOf('\n', index);
    if (nl === -1) return Math.min(source.length, index);
    index = nl + 1;
  }
  return Math.min(source.length, index + Math.max(column, 1) - 1);
}
