import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * `npm start` runs scripts/build-if-stale.mjs instead of a full build. It is run here on a copy of
 * the project's layout whose `build` script only leaves a marker, so the test sees whether a build
 * was started without waiting for tsc.
 */
const script = join(dirname(fileURLToPath(import.meta.url)), '../../scripts/build-if-stale.mjs');
const OUTPUTS = ['dist/src/main.js', 'dist/src/cli.js', 'dist/workers/sync-worker.js', 'sdk/dist/connectors.js', 'sdk/dist/connectors.iife.js', 'sdk/dist/connectors.d.ts'];

let root: string;

function layout(build = 'node -e "require(\'fs\').writeFileSync(\'built.marker\', \'\')"'): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-stale-'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(script, join(dir, 'scripts/build-if-stale.mjs'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stale-check', private: true, scripts: { build } }));
  const past = new Date(Date.now() - 60_000);
  for (const input of ['src/main.ts', 'workers/sync-worker.ts', 'sdk/src/index.ts']) {
    mkdirSync(dirname(join(dir, input)), { recursive: true });
    writeFileSync(join(dir, input), '// source\n');
    utimesSync(join(dir, input), past, past);
    utimesSync(dirname(join(dir, input)), past, past);
  }
  for (const output of OUTPUTS) {
    mkdirSync(dirname(join(dir, output)), { recursive: true });
    writeFileSync(join(dir, output), '// built\n');
  }
  return dir;
}

function run(dir: string): { status: number | null; stdout: string; built: boolean } {
  const env = { ...process.env };
  delete env.npm_execpath; // the script then runs `npm run build` from PATH, in the copy
  const r = spawnSync(process.execPath, [join(dir, 'scripts/build-if-stale.mjs')], { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, built: existsSync(join(dir, 'built.marker')) };
}

afterEach(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('npm start builds only when a source is newer than the output', () => {
  it('does nothing when every output is newer than every source', () => {
    root = layout();
    const r = run(root);
    expect(r).toMatchObject({ status: 0, stdout: '', built: false });
  });

  it('builds when a source changed since the last build, naming what changed', () => {
    root = layout();
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'src/main.ts'), future, future);
    const r = run(root);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('building: src changed since the last build');
    expect(r.built).toBe(true);
  });

  it('builds when an output is missing', () => {
    root = layout();
    rmSync(join(root, 'sdk/dist/connectors.iife.js'));
    const r = run(root);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('building: sdk/dist/connectors.iife.js is missing');
    expect(r.built).toBe(true);
  });
});

describe('npm start preloads the check in the service process', () => {
  const startScript = (JSON.parse(readFileSync(join(dirname(script), '../package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const start = (dir: string) => {
    writeFileSync(join(dir, 'entry.mjs'), "process.stdout.write('service started\\n');\n");
    const env = { ...process.env };
    delete env.npm_execpath;
    return spawnSync(process.execPath, ['--import', './scripts/build-if-stale.mjs', 'entry.mjs'], { cwd: dir, env, encoding: 'utf8' });
  };

  it('is what package.json start runs, before the CLI', () => {
    expect(startScript).toBe('node --import ./scripts/build-if-stale.mjs bin/gatehouse.js serve');
  });

  it('builds a stale output before the service loads, then the service starts', () => {
    root = layout();
    rmSync(join(root, 'dist/src/cli.js'));
    const r = start(root);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/building: dist\/src\/cli\.js is missing[\s\S]*service started/);
    expect(existsSync(join(root, 'built.marker'))).toBe(true);
  });

  it('starts at once when nothing is stale, and a failed build stops the start', () => {
    root = layout('node -e "process.exit(3)"');
    expect(start(root)).toMatchObject({ status: 0, stdout: 'service started\n' });
    rmSync(join(root, 'dist/src/cli.js'));
    const failed = start(root);
    expect(failed.status).toBe(3);
    expect(failed.stdout).not.toContain('service started');
  });
});
