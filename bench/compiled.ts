import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Benchmarks measure the code as production runs it: compiled by tsc (what `npm run build` puts in
 * dist/), not through tsx, whose on-the-fly transform adds helpers of its own to the request path
 * (esbuild's `__name` wrapper calls Object.defineProperty each time a named closure is created).
 * This compiles the whole project (src and bench) into node_modules/.cache/gatehouse-bench — inside
 * the repository so packages resolve, and ignored by git — and returns the compiled twin of `file`.
 * `--source` on a bench's command line skips this and runs the TypeScript through tsx instead.
 */
export function compiledTwin(file: string): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  // BENCH_BUILD_DIR: elsewhere (it must lie where the project's node_modules resolve from).
  const outDir = process.env.BENCH_BUILD_DIR ?? join(root, 'node_modules', '.cache', 'gatehouse-bench');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const twin = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
  // BENCH_REUSE_BUILD=1: run what the last build left (for experiments on the compiled code).
  if (process.env.BENCH_REUSE_BUILD === '1' && existsSync(twin)) return twin;
  const t0 = Date.now();
  // A fresh directory each time: files left by an earlier build of sources since deleted would
  // still import, and a checkout whose node_modules are hard links (`cp -al`, worktrees) would
  // otherwise write through the links into another checkout's build.
  rmSync(outDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', outDir, '--noEmit', 'false', '--sourceMap', 'false'], { cwd: root, encoding: 'utf8' });
  // Type errors elsewhere in the tree (work in progress) do not stop tsc from emitting.
  if (!existsSync(twin)) throw new Error(`tsc produced no ${twin}: ${r.stdout}${r.stderr}`);
  process.stderr.write(`compiled the project for the benchmark in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.status === 0 ? 'no type errors' : 'with type errors elsewhere in the tree'})\n`);
  return twin;
}

/** The node arguments that run `file` (a .ts bench file): its compiled twin, or through tsx with --source. */
export function benchEntry(file: string): string[] {
  return process.argv.includes('--source') ? ['--import', 'tsx', file] : [compiledTwinOnce(file)];
}

const twins = new Map<string, string>();
function compiledTwinOnce(file: string): string {
  let twin = twins.get(file);
  if (twin === undefined) {
    twin = compiledTwin(file);
    twins.set(file, twin);
  }
  return twin;
}
