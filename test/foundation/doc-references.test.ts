import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The repository stands alone: a reader has only the repository. Docs and comments state facts or
 * link files that are in it; they do not cite design notes, specification sections or issue
 * numbers that live elsewhere, and every link to a doc (with its #section) resolves.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Everything a reader of the repository reads: documentation, source, tests and benchmarks. */
const SCANNED = ['README.md', 'docs', 'src', 'ui', 'schemas', 'workers', 'bin', 'test', 'bench'];

/** This file spells the patterns it looks for, so it is the one file they may appear in. */
const NOT_SCANNED = new Set([fileURLToPath(import.meta.url)]);

/** Paths that look like doc links but name files of a fake repository built by a test. */
const NOT_LINKS: Record<string, string[]> = { 'test/sync/github-double.test.ts': ['docs/a.md'] };

/** Citations of documents outside the repository. RFC sections (`RFC 9111 §4.3`) are public and fine. */
const OUTSIDE_CITATIONS: Array<[RegExp, string]> = [
  [/\bdecisions? \d+/i, 'a numbered design decision'],
  [/(?<![\w-])api\.md\b/, 'the external api.md'],
  [/\barchitecture\.md\b/, 'the external architecture.md'],
  [/\bdecisions\.md\b/, 'the external decisions.md'],
  [/\bconnectors-reference\b/, 'the external connectors reference'],
  [/\b(?:spec|reference)\s+§/i, 'a specification section'],
  [/(?<!RFC \d{3,5} )(?<!RFC \d{3,5} §[\d.]+\/)§\s?\d/, 'a section number of an outside document'],
  [/\bissues? \d+\b/i, 'an issue number'],
];

function files(path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [full];
  return readdirSync(full).flatMap((name) => files(join(path, name)));
}

const scanned = SCANNED.flatMap(files).filter((f) => /\.(md|ts|js|mjs|html|css|json|py)$/.test(f) && !NOT_SCANNED.has(f));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('the repository stands alone', () => {
  it('scans the docs, the source, the tests and the benchmarks', () => {
    expect(scanned.some((f) => f.endsWith(join('docs', 'design.md')))).toBe(true);
    expect(scanned.some((f) => f.endsWith(join('test', 'registry', 'url.test.ts')))).toBe(true);
    expect(scanned.some((f) => f.endsWith(join('bench', 'cache.bench.ts')))).toBe(true);
    expect(scanned.some((f) => f.endsWith('doc-references.test.ts'))).toBe(false);
    expect(scanned.filter((f) => f.endsWith('.ts')).length).toBeGreaterThan(100);
  });

  it('no doc or comment cites a document outside the repository', () => {
    const found: string[] = [];
    for (const file of scanned) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const [pattern, what] of OUTSIDE_CITATIONS) {
            const m = pattern.exec(line);
            if (m) found.push(`${relative(root, file)}:${i + 1}: "${m[0]}" cites ${what}: state the fact or link a file in docs/`);
          }
        });
    }
    expect(found).toEqual([]);
  });

  it('every link to a repository file and its #section resolves', () => {
    const broken: string[] = [];
    const check = (from: string, i: number, target: string, base: string) => {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = resolve(base, path);
      if (!existsSync(file)) broken.push(`${relative(root, from)}:${i + 1}: ${target}: no such file`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor))
        broken.push(`${relative(root, from)}:${i + 1}: ${target}: no heading with that anchor`);
    };
    for (const file of scanned) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (file.endsWith('.md')) {
            for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
              const target = m[1]!;
              if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
              check(file, i, target, dirname(file));
            }
          } else {
            // Comments name docs from the repository root: `docs/design.md#http-cache`.
            for (const m of line.matchAll(/\b((?:docs\/[\w.-]+|README)\.md(?:#[\w-]+)?)/g)) {
              if (!NOT_LINKS[relative(root, file)]?.includes(m[1]!)) check(file, i, m[1]!, root);
            }
          }
        });
    }
    expect(broken).toEqual([]);
  });
});
