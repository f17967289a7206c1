import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';

/**
 * The command surface: every command listed by `gatehouse --help` answers `--help` and
 * `gatehouse help <command>` with its own usage (exit 0, nothing started), and
 * `gatehouse --version` prints the package version. The list and the version go through the real
 * binary; the per-command help runs in-process (a dozen node start-ups would only test node).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'gatehouse.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // An empty home and no Redis settings: a command that started anything would fail or hang here.
  const env = { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'gh-cli-home-')), GATEHOUSE_HOME: mkdtempSync(join(tmpdir(), 'gh-cli-gh-')) };
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** `gatehouse …` in this process, output captured. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') => new Writable({ write(chunk: Buffer, _enc, done) { out[key] += chunk.toString('utf8'); done(); } });
  const code = await main(args, { stdout: sink('stdout'), stderr: sink('stderr') });
  return { code, ...out };
}

function listedCommands(usage: string): string[] {
  const section = usage.split('commands:\n')[1]!.split('\n\n')[0]!;
  return section.split('\n').map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
}

describe('gatehouse command surface', () => {
  it('--help lists the commands and exits 0; no command is a usage error (exit 2)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    const names = listedCommands(help.stdout);
    expect(names).toEqual(expect.arrayContaining(['serve', 'validate', 'render', 'rotate-master-key']));
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: gatehouse <command>');
  });

  it('every listed command answers --help, -h and `gatehouse help <command>` with its own usage', async () => {
    const names = listedCommands((await inProcess(['--help'])).stdout);
    for (const name of names) {
      for (const args of [[name, '--help'], [name, '-h'], ['help', name]]) {
        const r = await inProcess(args);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`^usage: gatehouse ${name}\\b`));
        expect(r.stdout).toMatch(/exit 2 +usage error/);
      }
    }
    // In-process, but each command's module goes through vitest's transform: slow on a busy machine.
  }, 180_000);

  it('--help after other options still shows the help instead of running the command', async () => {
    const r = await inProcess(['serve', '--role', 'worker', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: gatehouse serve/);
  });

  it('an unknown command or help topic is a usage error naming it', async () => {
    const unknown = await inProcess(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
    const topic = await inProcess(['help', 'frobnicate']);
    expect(topic.code).toBe(2);
    expect(topic.stderr).toMatch(/gatehouse help: unknown command "frobnicate"/);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`gatehouse ${pkg.version}\n`);
    }
  });

  it('an unknown option prints the command help and exits 2', async () => {
    const r = await inProcess(['render', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
    expect(r.stderr).toMatch(/usage: gatehouse render/);
  });
});
