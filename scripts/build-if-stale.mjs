// `npm start` runs this instead of a full build: it compiles only when a source is newer than the
// compiled output (or an output is missing), so a restart does not wait for tsc and esbuild again.
// `npm run build` (and `npm install`, `npm test`) always build.
// `npm start` preloads it (`node --import ./scripts/build-if-stale.mjs bin/gatehouse.js serve`): one
// Node process instead of a second one for a `prestart` step, a fifth of a second less per start.
// It also runs on its own (`node scripts/build-if-stale.mjs`): exit 0 when nothing had to be built.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What the build reads: the service's and the widget client's sources and their compiler settings. */
const INPUTS = ['src', 'workers', 'sdk/src', 'sdk/build.mjs', 'sdk/tsconfig.json', 'tsconfig.json', 'tsconfig.build.json'];
/** What it writes; each is rewritten by every build, so the oldest of them dates the last build. */
const OUTPUTS = ['dist/src/main.js', 'dist/src/cli.js', 'dist/workers/sync-worker.js', 'sdk/dist/connectors.js', 'sdk/dist/connectors.iife.js', 'sdk/dist/connectors.d.ts'];

function newest(path) {
  let stat;
  try {
    stat = statSync(join(root, path));
  } catch {
    return 0; // an input that does not exist (yet) changes nothing
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(join(root, path)).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

function builtAt() {
  let oldest = Infinity;
  for (const path of OUTPUTS) {
    try {
      oldest = Math.min(oldest, statSync(join(root, path)).mtimeMs);
    } catch {
      return { at: 0, missing: path };
    }
  }
  return { at: oldest, missing: undefined };
}

const built = builtAt();
const changed = INPUTS.map((path) => ({ path, at: newest(path) })).filter((input) => input.at > built.at);
if (built.missing !== undefined || changed.length > 0) {
  process.stdout.write(`building: ${built.missing !== undefined ? `${built.missing} is missing` : `${changed.map((c) => c.path).join(', ')} changed since the last build`}\n`);
  const npm = process.env.npm_execpath;
  const result = npm !== undefined
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  // A failed build stops here: the service would otherwise start on the old output.
  if (result.status !== 0) process.exit(result.status ?? 1);
}
