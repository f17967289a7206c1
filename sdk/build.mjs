// Builds the widget client into dist/: an ES module, a classic-script bundle that sets
// window.GatehouseConnectors, and .d.ts declarations. Run by the repository's `npm run build`.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });

const common = {
  entryPoints: [join(here, 'src', 'connectors.ts')],
  bundle: true,
  minify: true,
  // Widgets run in current browsers; ES2020 keeps optional chaining and async/await native.
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, format: 'esm', outfile: join(dist, 'connectors.js') }),
  build({ ...common, format: 'iife', globalName: 'GatehouseConnectors', outfile: join(dist, 'connectors.iife.js') }),
]);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
