import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { at } from '../registry/helpers.js';

/**
 * `gatehouse validate` through the real binary (bin/gatehouse.js → dist/, built by `npm test`'s
 * pretest step), exactly as a developer or a CI job runs it.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'gatehouse.js');
const mistakesPath = join(root, 'test', 'cli', 'fixtures', 'many-mistakes.json');
const referencePath = join(root, 'test', 'registry', 'fixtures', 'reference-registry.json');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'gh-cli-home-')), ...options.env };
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'validate', ...args], { cwd: options.cwd ?? root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const LINE = /^(.+):(\d+):(\d+): (\/\S*|): (.+)$/;

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'src', 'registry', 'validate-command.js'))) {
    throw new Error('dist/ is missing the validate command: run `npm run build` (npm test does it in pretest)');
  }
});

describe('gatehouse validate (real binary)', () => {
  it('reports every mistake of a file with many in one run, FILE:LINE:COL: pointer: message, exit 1', async () => {
    const file = relative(root, mistakesPath);
    const text = readFileSync(mistakesPath, 'utf8');
    const r = await run([file]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(LINE);
    const reported = lines.map((l) => {
      const [, f, line, column, path, message] = LINE.exec(l)!;
      return { file: f, line: Number(line), column: Number(column), path, message };
    });
    expect(new Set(reported.map((e) => e.file))).toEqual(new Set([file]));

    // [pointer, where the caret must be, what the message must say]
    const expected: [string, { line: number; column: number }, RegExp][] = [
      ['/connectors/0/url', at(text, 'http://'), /must use https:\/\//],
      ['/connectors/0/method', at(text, '"FETCH"'), /not a supported HTTP method/],
      ['/connectors/1/url', at(text, '10.0.0.5'), /a private address/],
      ['/connectors/2', at(text, '{\n      "name": "No URL"'), /missing required key "url"/],
      ['/connectors/3/name', at(text, '"Weather API"', 1), /duplicate permalink "weather-api"/],
      ['/connectors/4/headers/1/key', at(text, '"ACCEPT"'), /duplicate header/],
      ['/connectors/5/url', at(text, 'pathParams.idea_id'), /does not declare it/],
      ['/connectors/5/path_parameters/0/key', at(text, '"post_id"'), /never uses it/],
      ['/connectors/6/authentication/config/value', at(text, '"sk-live'), /must reference a secret/],
      ['/connectors/7/authentication/config/additional_claims/iss', at(text, '"iss"'), /cannot be set in additional_claims/],
      ['/connectors/8/response_body', { line: at(text, '"{% for item').line, column: -1 }, /template syntax error/],
      ['/connectors/9/url', at(text, "get_secret('api_key')"), /get_secret\(\) cannot be used in a URL/],
      ['/connectors/10/url', at(text, '{{ user.id }}'), /cannot be used in the host/],
      ['/connectors/11/url', at(text, "{{ get_variable('scheme')"), /protocol cannot be templated/],
      ['/connectors/12/permalink', at(text, '"Bad_Permalink"'), /not a valid permalink/],
      ['/connectors/13/url', at(text, ' world'), /contains a space/],
      ['/connectors/13/name', at(text, '"name": "Duplicate key"'), /duplicate key "name"/],
      ['/connectors/14/authentication/type', at(text, '"basic"'), /unknown authentication type/],
      ['/connectors/15/response_body', at(text, "get_secret('token')"), /get_secret\(\) is not available in response body templates/],
      ['/composite_connectors/0/steps/0/request_body', at(text, 'steps.orders'), /no step "orders"/],
      ['/composite_connectors/0/steps/1/name', at(text, '"contact"', 1), /duplicate step name/],
    ];
    for (const [path, position, message] of expected) {
      const match = reported.find((e) => e.path === path && message.test(e.message ?? ""));
      expect(match, `${path} ${message}`).toBeDefined();
      expect(match!.line).toBe(position.line);
      if (position.column !== -1) expect(match!.column).toBe(position.column);
    }
    expect(new Set(expected.map(([, , m]) => m.source)).size).toBeGreaterThanOrEqual(10);
    expect(reported).toHaveLength(expected.length);
    expect(r.stderr).toContain(`${expected.length} errors`);
  });

  it('exits 0 for a valid file', async () => {
    const r = await run([referencePath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(8 connectors, 1 composite connector\)/);
  });

  it('--json prints {valid, errors: [{path, line, column, message, permalink?}]}', async () => {
    const bad = await run([mistakesPath, '--json']);
    expect(bad.code).toBe(1);
    const body = JSON.parse(bad.stdout) as { valid: boolean; errors: Record<string, unknown>[] };
    expect(body.valid).toBe(false);
    expect(body.errors.length).toBe(21);
    for (const e of body.errors) {
      expect(Object.keys(e).sort()).toEqual(expect.arrayContaining(['column', 'line', 'message', 'path']));
      expect(Object.keys(e).every((k) => ['path', 'line', 'column', 'message', 'permalink'].includes(k))).toBe(true);
    }
    expect(body.errors.find((e) => e.path === '/connectors/0/method')).toEqual({
      path: '/connectors/0/method',
      line: 6,
      column: 17,
      message: expect.stringContaining('FETCH'),
      permalink: 'weather-api',
    });
    const good = await run(['--json', referencePath]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual({ valid: true, errors: [] });
  });

  it('reports invalid JSON as one error with line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "connectors": [\n    {"name": "a",}\n  ]\n}\n');
    const r = await run([file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${file}:3:18: invalid JSON: expected a property name in double quotes (trailing commas are not allowed in JSON)\n`);
  });

  it('prints no empty pointer for a problem with the whole file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const file = join(dir, 'array.json');
    writeFileSync(file, '[]\n');
    const r = await run([file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${file}:1:1: must be an object, not an array\n`);
  });

  it('refuses a file that is not UTF-8 (no silent U+FFFD), pointing at the first bad byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const file = join(dir, 'latin1.json');
    // "Café" saved as Latin-1, behind a BOM-less CRLF line: otherwise a valid file.
    writeFileSync(file, Buffer.concat([Buffer.from('{"connectors": [\r\n  {"name": "Caf'), Buffer.from([0xe9]), Buffer.from('", "url": "https://api.example.com/"}]}')]));
    const r = await run([file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/:2:16: the file is not valid UTF-8: byte 0xE9 at offset 33 cannot start or continue a character; save the file as UTF-8\n$/);
    expect(r.stdout.startsWith(`${file}:2:16: `)).toBe(true);
    const j = await run([file, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).errors).toMatchObject([{ path: '', line: 2, column: 16 }]);
    // a leading byte-order mark is fine and not counted
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"connectors": [{"name": "Café", "url": "https://api.example.com/"}]}')]));
    expect((await run([bom])).code).toBe(0);
  });

  it('validates ./connectors_registry.json by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    writeFileSync(join(dir, 'connectors_registry.json'), JSON.stringify({ connectors: [{ name: 'A', url: 'https://api.example.com/' }] }));
    const r = await run([], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('connectors_registry.json: valid (1 connector, 0 composite connectors)\n');
  });

  it('says clearly when the file is missing, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const r = await run([], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read connectors_registry\.json: no such file \(pass the registry file as an argument/);
    const j = await run(['nope.json', '--json'], { cwd: dir });
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toEqual({ valid: false, errors: [{ path: '', line: 0, column: 0, message: 'cannot read nope.json: no such file' }] });
  });

  it('honours UPSTREAM_ALLOW_HTTP and UPSTREAM_ALLOW_CIDRS, and needs neither Redis nor keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    const file = join(dir, 'local.json');
    writeFileSync(file, JSON.stringify({ connectors: [{ name: 'Local', url: 'http://127.0.0.1:8080/x' }] }, null, 2));
    const home = join(dir, 'home');
    const strict = await run([file], { env: { GATEHOUSE_HOME: home, REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('uses http://');
    expect(strict.stdout).toContain('a loopback address');
    const relaxed = await run([file], { env: { GATEHOUSE_HOME: home, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    expect(relaxed.code).toBe(0);
    // no key generation, no embedded Redis: validate leaves no state behind
    expect(existsSync(home) ? readdirSync(home) : []).toEqual([]);
  });

  it('--help prints the usage and exits 0; a usage error exits 2 (distinct from an invalid file)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gatehouse validate \[FILE\] \[--json\]/);
    expect(help.stdout).toMatch(/exit 2 {2}usage error/);
    const unknown = await run(['--bogus', referencePath]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'/);
    const two = await run([referencePath, referencePath]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/expected at most one FILE, got 2/);
  });

  it('names a malformed environment variable', async () => {
    const r = await run([referencePath], { env: { UPSTREAM_ALLOW_CIDRS: 'not-a-cidr' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UPSTREAM_ALLOW_CIDRS: "not-a-cidr" is not a CIDR/);
  });
});
