/**
 * Template engine benchmark: µs per render of (1) a header value `Bearer {{ get_secret('t') }}` and
 * (2) a ~30-line response template reshaping a 50-item JSON array, each beside the same template
 * compiled by stock nunjucks (its JavaScript code generation, the thing src/templates replaces),
 * with the ratio ours / nunjucks. Goals: < 5 µs header, < 200 µs reshape.
 *
 * Stock nunjucks runs in a child process of its own: loading its runtime makes V8 take a slower
 * path for charCodeAt and slice on every string in the process (see src/templates/nunjucks.ts), and
 * the service never loads it. A second child times our engine after loading nunjucks' runtime
 * first, to show that effect.
 *
 *   npx tsx bench/templates.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { compileTemplate } from '../src/templates/index.js';

type Nunjucks = typeof import('nunjucks');

const HEADER = "Bearer {{ get_secret('t') }}";

// Written in the subset both engines accept, so the comparison is like for like.
const RESHAPE = `{%- set data = response.body | from_json -%}
{%- set currency = 'EUR' -%}
{
  "status": {{ response.status_code }},
  "count": {{ data['items'] | length }},
  "items": [
  {%- for item in data['items'] %}
    {
      "id": {{ item.id | tojson }},
      "sku": {{ item.sku | upper | tojson }},
      "title": {{ item.title | tojson }},
      "summary": {{ (item.description | default('', true) | truncate(40)) | tojson }},
      "price": {{ item.price | round(2) }},
      "currency": "{{ currency }}",
      "in_stock": {{ 'true' if item.stock > 0 else 'false' }},
      "tags": {{ item.tags | join(',') | tojson }},
      "vendor": {{ item.vendor.name | tojson }},
      {%- if item.discount %}
      "discounted": {{ (item.price * (1 - item.discount)) | round(2) }},
      {%- endif %}
      "position": {{ loop.index }}
    }{% if not loop.last %},{% endif %}
  {%- endfor %}
  ],
  "first_id": {{ data['items'][0].id }}
}`;

/** Body `k` of the pool: the same 50 items with ids shifted by 50·k (k = 0 is the golden corpus' body). */
function sampleBody(k = 0): string {
  const items = Array.from({ length: 50 }, (_, i) => ({
    id: 1000 + 50 * k + i,
    sku: `sku-${i}`,
    title: `Item <${i}> "quoted" & more`,
    description: i % 3 === 0 ? null : `A fairly long description of item number ${i}, long enough to truncate.`,
    price: 9.99 + i * 1.25,
    stock: i % 4,
    discount: i % 5 === 0 ? 0.1 : 0,
    tags: ['a', 'b', `t${i}`],
    vendor: { name: `Vendor ${i % 7}`, country: 'DE' },
  }));
  return JSON.stringify({ items });
}

const ROUNDS = 9;

interface Timing {
  best: number;
  median: number;
}

/**
 * µs per call over several timed rounds, after a warm-up that lets V8 optimise both engines: the
 * fastest round (the least disturbed by other processes on a shared machine) and the median one.
 */
function timeIt(fn: () => void, roundMillis = 150, rounds = ROUNDS): Timing {
  const warm = performance.now();
  while (performance.now() - warm < roundMillis * 2) for (let i = 0; i < 20; i++) fn();
  const perRound: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMillis) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
      elapsed = performance.now() - start;
    }
    perRound.push((elapsed * 1000) / n);
  }
  perRound.sort((a, b) => a - b);
  return { best: perRound[0]!, median: perRound[rounds >> 1]! };
}

function stockNunjucks(nunjucks: Nunjucks, autoescape: boolean): InstanceType<Nunjucks['Environment']> {
  const env = new nunjucks.Environment(null, { autoescape });
  env.addGlobal('get_secret', (name: string) => (name === 't' ? 'secret-token' : ''));
  env.addFilter('from_json', (s: string) => JSON.parse(s));
  env.addFilter('tojson', (v: unknown) => new nunjucks.runtime.SafeString(JSON.stringify(v)));
  return env;
}

// A pool of distinct bodies, cycled through: each render parses a string it has not parsed in the
// previous 63 renders, so nothing that remembers recent inputs (such as a from_json memo) can turn
// the reshape into a lookup.
const POOL = 64;
const bodies = Array.from({ length: POOL }, (_, k) => sampleBody(k));
const secrets = new Map([['t', 'secret-token']]);
const responseCtxs = bodies.map((body) => ({ response: { body, status_code: 200, headers: { 'content-type': 'application/json' } } }));

interface Result {
  header: Timing;
  reshape: Timing;
  headerOutput: string;
  reshapeOutputs: string[];
}

function timeOurs(): Result {
  const header = compileTemplate(HEADER, 'header');
  const reshape = compileTemplate(RESHAPE, 'response_body');
  const reshapeOutputs = responseCtxs.map((ctx) => reshape.render({ vars: ctx }));
  for (const out of reshapeOutputs) JSON.parse(out); // the output must be valid JSON
  let next = 0;
  return {
    header: timeIt(() => header.render({ vars: {}, secrets })),
    reshape: timeIt(() => reshape.render({ vars: responseCtxs[next++ % POOL]! })),
    headerOutput: header.render({ vars: {}, secrets }),
    reshapeOutputs,
  };
}

async function timeStockNunjucks(): Promise<Result> {
  const { default: nunjucks } = await import('nunjucks');
  const header = nunjucks.compile(HEADER, stockNunjucks(nunjucks, false));
  const reshape = nunjucks.compile(RESHAPE, stockNunjucks(nunjucks, true));
  const reshapeOutputs = responseCtxs.map((ctx) => reshape.render(ctx));
  for (const out of reshapeOutputs) JSON.parse(out);
  let next = 0;
  return {
    header: timeIt(() => header.render({})),
    reshape: timeIt(() => reshape.render(responseCtxs[next++ % POOL]!)),
    headerOutput: header.render({}),
    reshapeOutputs,
  };
}

/** Runs this file again in a fresh process (same loader flags, e.g. tsx's) in the given role. */
function child(role: string): Result {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), role], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as Result;
}

const role = process.argv[2];
if (role === '--stock-nunjucks') {
  process.stdout.write(JSON.stringify(await timeStockNunjucks()));
} else if (role === '--ours-after-nunjucks-runtime') {
  await import('nunjucks');
  process.stdout.write(JSON.stringify(timeOurs()));
} else {
  const loadBefore = loadavg()[0]!;
  const ours = timeOurs();
  const nj = child('--stock-nunjucks');
  const oursPolluted = child('--ours-after-nunjucks-runtime');
  const loadAfter = loadavg()[0]!;
  if (ours.headerOutput !== nj.headerOutput) throw new Error('header outputs differ');
  if (oursPolluted.reshapeOutputs.some((out, k) => out !== ours.reshapeOutputs[k])) throw new Error('reshape outputs differ between processes');

  const us = (t: Timing) => `${t.best.toFixed(2).padStart(7)} µs (median ${t.median.toFixed(2).padStart(7)})`;
  const row = (name: string, o: Timing, n: Timing, polluted: Timing, goal: number) =>
    `${name.padEnd(24)} ours ${us(o)}   nunjucks ${us(n)}   ratio ${(o.best / n.best).toFixed(2)}x   ` +
    `goal < ${goal} µs: ${o.best < goal ? 'met' : 'MISSED'}   [ours after loading nunjucks' runtime ${us(polluted)}]`;
  console.log(
    `node ${process.version}; ${RESHAPE.split('\n').length}-line reshape template over a 50-item array (${bodies[0]!.length} bytes of JSON), ` +
      `cycling through ${POOL} distinct bodies so every render parses JSON it has not just parsed; ` +
      `each engine in its own process; best and median of ${ROUNDS} rounds; load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`,
  );
  console.log(row('header (get_secret)', ours.header, nj.header, oursPolluted.header, 5));
  console.log(row('reshape (50-item array)', ours.reshape, nj.reshape, oursPolluted.reshape, 200));
}
