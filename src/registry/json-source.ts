import { createRequire } from 'node:module';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';

// jsonc-parser ships a UMD build for require() and an ESM build that Node cannot load (extensionless
// imports); require() gives the same module under node, tsx and vitest.
const jsonc = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');

/**
 * Strict JSON parsing that keeps source positions, so every validation problem can name the line
 * and column of the offending value (docs/design.md#positions: 1-based; columns count UTF-16 code units, as
 * editors do). jsonc-parser is used in strict mode: no comments, no trailing commas.
 */

export interface Position {
  line: number;
  column: number;
}

export interface DuplicateKey {
  /** Pointer of the property (its value is the one that wins, as with JSON.parse). */
  path: string;
  key: string;
  /** Position of the repeated key token. */
  position: Position;
  /** Position of the first occurrence's key. */
  first: Position;
}

/** Finds positions for JSON pointers; a document without source answers 0:0. */
export interface SourceLocator {
  /** Start of the value at `pointer`, or of the nearest ancestor that exists. */
  value(pointer: string): Position;
  /** Start of the property name of the member at `pointer` (falls back to the value). */
  key(pointer: string): Position;
  /** Position of the character at `index` (UTF-16, decoded) inside the string value at `pointer`. */
  inString(pointer: string, index: number): Position;
}

export const NO_SOURCE: SourceLocator = {
  value: () => ({ line: 0, column: 0 }),
  key: () => ({ line: 0, column: 0 }),
  inString: () => ({ line: 0, column: 0 }),
};

export type ParseResult =
  | { ok: true; value: unknown; locator: SourceLocator; duplicateKeys: DuplicateKey[] }
  | { ok: false; error: { line: number; column: number; message: string } };

const PARSE_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character: JSON allows only objects, arrays, "double-quoted" strings, numbers, true, false and null here',
  InvalidNumberFormat: 'invalid number (JSON numbers have no leading zeros, "+" sign or trailing dot)',
  PropertyNameExpected: 'expected a property name in double quotes (trailing commas are not allowed in JSON)',
  ValueExpected: 'expected a value (an object, array, string, number, true, false or null)',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," between members',
  CloseBraceExpected: 'expected "}" to close the object',
  CloseBracketExpected: 'expected "]" to close the array',
  EndOfFileExpected: 'unexpected content after the end of the JSON document',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'unterminated string: add the closing double quote',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid \\u escape: it needs four hexadecimal digits',
  InvalidEscapeCharacter: 'invalid escape sequence in a string (allowed: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)',
  InvalidCharacter: 'control character inside a string: write tabs and newlines as \\t and \\n',
};

/** Deep enough for any registry file; shallow enough that no later stage can exhaust the stack. */
export const MAX_DEPTH = 64;

class TooDeep extends Error {
  constructor(readonly offset: number) {
    super('too deep');
  }
}

export function escapePointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${escapePointerSegment(s)}`).join('');
}

function pointerSegments(ptr: string): string[] {
  if (ptr === '') return [];
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }
  position(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

/**
 * Parses `text` as strict JSON. A leading byte-order mark is tolerated (editors on Windows add one).
 * The happy path is cheap: one streaming pass (syntax errors, repeated keys) and JSON.parse for the
 * value; the positions tree is only built when a problem has to be located.
 */
export function parseJsonWithPositions(input: string): ParseResult {
  // Editors do not count the mark as a column, so positions are computed without it.
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lines = new LineIndex(text);
  const errors: ParseError[] = [];
  const duplicateOffsets: { path: (string | number)[]; key: string; offset: number; first: number }[] = [];
  const objects: Map<string, number>[] = [];
  let depth = 0;
  const enter = (offset: number) => {
    depth += 1;
    if (depth > MAX_DEPTH) throw new TooDeep(offset);
  };
  try {
    jsonc.visit(
      text,
      {
        onObjectBegin: (offset) => {
          enter(offset);
          objects.push(new Map());
        },
        onObjectEnd: () => {
          depth -= 1;
          objects.pop();
        },
        onArrayBegin: (offset) => {
          enter(offset);
        },
        onArrayEnd: () => {
          depth -= 1;
        },
        onObjectProperty: (key, offset, _length, _line, _column, pathSupplier) => {
          const seen = objects[objects.length - 1];
          if (seen === undefined) return;
          const first = seen.get(key);
          if (first !== undefined) duplicateOffsets.push({ path: [...pathSupplier(), key], key, offset, first });
          seen.set(key, offset);
        },
        onError: (error, offset, length) => {
          errors.push({ error, offset, length });
        },
      },
      { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
    );
  } catch (err) {
    if (!(err instanceof TooDeep)) throw err;
    return { ok: false, error: { ...lines.position(err.offset), message: `nesting deeper than ${MAX_DEPTH} levels: a registry file never needs that many` } };
  }
  // An empty (or whitespace-only) file deserves its own words, not the parser's "expected a value".
  if (text.trim() === '') {
    return { ok: false, error: { line: 1, column: 1, message: 'the document is empty: write a JSON object, e.g. {"connectors": []} for a registry file' } };
  }
  if (errors.length > 0) {
    const first = errors[0]!;
    const code = jsonc.printParseErrorCode(first.error);
    return { ok: false, error: { ...lines.position(first.offset), message: PARSE_MESSAGES[code] ?? `invalid JSON (${code})` } };
  }
  let value: unknown;
  try {
    // JSON.parse defines "__proto__" as an own data property, never as the prototype.
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { line: 1, column: 1, message: (err as Error).message } };
  }
  const duplicateKeys: DuplicateKey[] = duplicateOffsets.map((d) => ({
    path: pointer(...d.path),
    key: d.key,
    position: lines.position(d.offset),
    first: lines.position(d.first),
  }));
  return { ok: true, value, locator: new TreeLocator(text, lines), duplicateKeys };
}

class TreeLocator implements SourceLocator {
  private tree: JsonNode | undefined;

  constructor(
    private readonly text: string,
    private readonly lines: LineIndex,
  ) {}

  private get root(): JsonNode {
    this.tree ??= jsonc.parseTree(this.text, [], { disallowComments: true, allowTrailingComma: false })!;
    return this.tree;
  }

  /** The deepest node along `ptr`, plus the property node when the last step was an object member. */
  private find(ptr: string): { node: JsonNode; property: JsonNode | undefined; exact: boolean } {
    let node = this.root;
    let property: JsonNode | undefined;
    for (const segment of pointerSegments(ptr)) {
      let next: JsonNode | undefined;
      let nextProperty: JsonNode | undefined;
      if (node.type === 'object') {
        // The last member with the key wins, as it does for the parsed value.
        for (const prop of node.children ?? []) {
          if (prop.children?.[0]?.value === segment) {
            nextProperty = prop;
            next = prop.children[1];
          }
        }
      } else if (node.type === 'array' && /^\d+$/.test(segment)) {
        next = node.children?.[Number(segment)];
      }
      if (next === undefined) return { node, property, exact: false };
      node = next;
      property = nextProperty;
    }
    return { node, property, exact: true };
  }

  value(ptr: string): Position {
    return this.lines.position(this.find(ptr).node.offset);
  }

  key(ptr: string): Position {
    const found = this.find(ptr);
    const keyNode = found.exact ? found.property?.children?.[0] : undefined;
    return this.lines.position((keyNode ?? found.node).offset);
  }

  inString(ptr: string, index: number): Position {
    const found = this.find(ptr);
    if (!found.exact || found.node.type !== 'string') return this.lines.position(found.node.offset);
    const start = found.node.offset;
    const end = start + found.node.length - 1;
    // Walk the raw token (after the opening quote), counting decoded UTF-16 units.
    let raw = start + 1;
    let decoded = 0;
    while (raw < end && decoded < index) {
      if (this.text.charCodeAt(raw) === 92 /* \ */) raw += this.text.charCodeAt(raw + 1) === 117 /* u */ ? 6 : 2;
      else raw += 1;
      decoded += 1;
    }
    return this.lines.position(Math.min(raw, end));
  }
}

export type DecodeResult = { ok: true; text: string } | { ok: false; error: { line: number; column: number; message: string } };

/**
 * A registry file's bytes → text. JSON is UTF-8 (RFC 8259 §8.1); a file saved in another encoding
 * (Latin-1, UTF-16) must not be read with U+FFFD replacement characters silently standing in for
 * its bytes — names, headers and templates would carry them upstream. The error names the position
 * of the first byte that is not UTF-8 (line and column as elsewhere: 1-based, UTF-16 code units,
 * a leading byte-order mark not counted).
 */
export function decodeUtf8Source(bytes: Uint8Array): DecodeResult {
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    const bad = firstInvalidUtf8Byte(bytes);
    let before = new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes.subarray(0, bad));
    const lines = before.split(/\r\n|\r|\n/);
    before = lines[lines.length - 1]!;
    const byte = bytes[bad] ?? 0;
    const hint = bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) ? ' (the file looks like UTF-16)' : '';
    return {
      ok: false,
      error: {
        line: lines.length,
        column: before.length + 1,
        message: `the file is not valid UTF-8: byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at offset ${bad} cannot start or continue a character${hint}; save the file as UTF-8`,
      },
    };
  }
}

function firstInvalidUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i += 1; continue; }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
