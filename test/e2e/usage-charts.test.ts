import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { routeOkAndBoom, startUpstream, type TestUpstream } from '../support/upstream.js';
import { connector, registry, startHarness, type Harness } from '../sync/harness.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, type Browser } from './browser.js';

/**
 * The dashboard's usage charts in Chromium: the test makes real executions, sync jobs and delayed
 * jobs, then reads what uPlot plotted on the tenant overview, the connector page and the queues
 * page (the instance's data, the totals shown above the charts) and checks that the line was drawn
 * on the canvas, not only computed.
 */

const REPO = 'octo/usage-connectors';
const FILE = 'connectors_registry.json';

/** What the page functions below touch of the browser (the project's TypeScript has no DOM library). */
interface ChartElement {
  uplot?: {
    series: { label?: string }[];
    data: ArrayLike<number | null>[];
    ctx: { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
    bbox: { left: number; top: number; width: number; height: number };
  };
  dataset: Record<string, string | undefined>;
}
interface B {
  document: { querySelector(selector: string): ChartElement | null };
}

interface Plotted {
  labels: (string | undefined)[];
  data: (number | null)[][];
}

describe.runIf(browserTestsEnabled())('usage charts (Chromium)', () => {
  let h: Harness;
  let up: TestUpstream;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `usage-${name}.png`), fullPage: true });
  const exec = (permalink: string) => fetch(`${h.svc.url}/t/acme/connectors/${permalink}/execute`).then(async (r) => (await r.arrayBuffer(), r.status));
  /** Waits until the section around `chart` has loaded `range`, then reads what uPlot plots. */
  const plotted = async (chart: string, range = 'hour'): Promise<Plotted> => {
    await page.waitForFunction(
      ([name, r]) => {
        const el = (globalThis as unknown as B).document.querySelector(`section[data-loaded-range="${r}"] [data-chart="${name}"]`);
        return el?.uplot !== undefined;
      },
      [chart, range] as const,
    );
    return page.evaluate((name) => {
      const u = (globalThis as unknown as B).document.querySelector(`[data-chart="${name}"]`)!.uplot!;
      return { labels: u.series.map((s) => s.label), data: u.data.map((a) => Array.from(a)) };
    }, chart);
  };
  const series = (p: Plotted, label: string) => {
    const i = p.labels.indexOf(label);
    if (i < 1) throw new Error(`no series ${label} in ${JSON.stringify(p.labels)}`);
    return p.data[i]!;
  };
  const sum = (values: (number | null)[]) => values.reduce<number>((n, v) => n + (v ?? 0), 0);
  /**
   * Pixels of `color` (±40 per channel) in the upper half of the chart's plotting area: a line
   * that rises from zero leaves some there; an empty chart or a flat zero line leaves none.
   */
  const drawnAbove = (chart: string, color: string) =>
    page.evaluate(
      ([name, hex]) => {
        const u = (globalThis as unknown as B).document.querySelector(`[data-chart="${name}"]`)!.uplot!;
        const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
        const { left, top, width, height } = u.bbox;
        const px = u.ctx.getImageData(left, top, width, Math.floor(height / 2)).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (px[i + 3]! > 128 && Math.abs(px[i]! - r!) < 40 && Math.abs(px[i + 1]! - g!) < 40 && Math.abs(px[i + 2]! - b!) < 40) n++;
        }
        return n;
      },
      [chart, color] as const,
    );
  const stat = (name: string) => page.locator(`[data-stat="${name}"]`).first().textContent();

  beforeAll(async () => {
    browser = await launchChromium();
    up = await startUpstream();
    routeOkAndBoom(up);
    h = await startHarness();
    await h.createTenant('acme');
    expect((await h.admin('POST', '/tenants/acme/connectors', { name: 'Ok', url: `${up.url}/ok` })).status).toBe(201);
    expect((await h.admin('POST', '/tenants/acme/connectors', { name: 'Boom', url: `${up.url}/boom` })).status).toBe(201);

    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`${h.svc.url}/ui/`);
    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('main h1', { hasText: 'Tenants' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await up?.close();
  });

  it('serves uPlot from the installed package under /ui/vendor/', async () => {
    const res = await fetch(`${h.svc.url}/ui/vendor/uplot/uPlot.esm.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toContain('export { uPlot as default }');
    expect((await fetch(`${h.svc.url}/ui/vendor/uplot/uPlot.min.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('the tenant overview charts the executions the test made, per step and per connector', async () => {
    // 5 × ok (1 MISS, 4 HIT), 2 × boom (503), 1 unknown permalink (404): 8 requests.
    for (let i = 0; i < 5; i++) expect(await exec('ok')).toBe(200);
    for (let i = 0; i < 2; i++) expect(await exec('boom')).toBe(503);
    expect(await exec('nope')).toBe(404);

    await page.goto(`${h.svc.url}/ui/#/tenants/acme/overview`);
    const requests = await plotted('requests');
    expect(requests.data[0]).toHaveLength(60);
    expect(sum(series(requests, 'requests'))).toBe(8);
    expect(sum(series(requests, '4xx'))).toBe(1);
    expect(sum(series(requests, '5xx'))).toBe(2);
    expect(await stat('requests')).toBe('8');
    expect(await stat('errors')).toBe('3 (4xx 1, 5xx 2)');
    const cache = await plotted('cache');
    // Cache lookups: the five GETs of ok and the two of boom (the 404 never reached the cache).
    const ratios = series(cache, 'hit ratio').filter((v) => v !== null);
    expect(ratios.length).toBeGreaterThan(0);
    expect(await stat('cache')).toBe('57 % of 7');
    const latency = await plotted('latency');
    expect(series(latency, 'p95').filter((v) => v !== null).length).toBeGreaterThan(0);
    expect(await drawnAbove('requests', '#1f77b4')).toBeGreaterThan(10);
    const firstRow = page.locator('.usage-connectors tbody tr').first();
    await firstRow.waitFor();
    expect((await firstRow.locator('td').allTextContents()).slice(0, 4)).toEqual(['ok', '5', '0', '0']);
    await shot('tenant-overview');

    // The day range: 144 ten-minute steps, the same eight requests.
    await page.getByRole('button', { name: 'Last day' }).click();
    const day = await plotted('requests', 'day');
    expect(day.data[0]).toHaveLength(144);
    expect(sum(series(day, 'requests'))).toBe(8);
    expect(page.url()).toContain('range=day');
  });

  it('the connector page charts that connector only', async () => {
    await page.goto(`${h.svc.url}/ui/#/tenants/acme/connectors/ok`);
    const requests = await plotted('requests');
    expect(sum(series(requests, 'requests'))).toBe(5);
    expect(sum(series(requests, '5xx'))).toBe(0);
    expect(await stat('requests')).toBe('5');
    expect(await stat('cache')).toBe('80 % of 5');
    const cache = await plotted('cache');
    expect(series(cache, 'hit ratio').filter((v) => v !== null).every((v) => v! > 0 && v! <= 100)).toBe(true);
    expect(await drawnAbove('requests', '#1f77b4')).toBeGreaterThan(10);
    // Pointing at the newest step shows its values in the legend.
    const over = await page.locator('[data-chart="requests"] .u-over').boundingBox();
    await page.mouse.move(over!.x + over!.width - 1, over!.y + over!.height / 2);
    const legend = page.locator('[data-chart="requests"] [data-series="requests"]');
    await expect.poll(() => legend.textContent()).toBe(`requests ${series(requests, 'requests').at(-1)}`);
    await shot('connector');

    await page.goto(`${h.svc.url}/ui/#/tenants/acme/connectors/boom`);
    const boom = await plotted('requests');
    expect(sum(series(boom, '5xx'))).toBe(2);
    expect(await drawnAbove('requests', '#d62728')).toBeGreaterThan(10);
  });

  it('the queues page charts jobs finished and the sampled depth', async () => {
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
    const linked = await h.link('acme', REPO);
    expect((await h.waitForSync(linked.body.sync_id)).state).toBe('succeeded');
    await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect((await h.settle('acme', REPO)).state).toBe('succeeded');
    // Three jobs held back (as a rate limit would): the depth of the status queue. A worker
    // process samples depths when it starts and every 15 s; restarting the workers samples now.
    for (let i = 0; i < 3; i++) await h.svc.services.sync.queues.status.add('held', { held: i } as never, { delay: 3_600_000 });
    await h.workers!.close();
    await h.startWorkers();
    await expect
      .poll(async () => {
        const r = await h.admin<{ series: { queues: Record<string, { depth: number | null; completed: number }> }[] }>('GET', '/queues/usage?range=hour');
        return [r.body.series.at(-1)?.queues.status?.depth, sum(r.body.series.map((p) => p.queues.sync!.completed))];
      }, { timeout: 30_000 })
      .toEqual([3, 2]);

    await page.goto(`${h.svc.url}/ui/#/queues`);
    const depth = await plotted('queue-depth');
    expect(depth.labels.slice(1)).toEqual(['sync', 'status', 'reconcile']);
    expect(Math.max(...series(depth, 'status').map((v) => v ?? 0))).toBe(3);
    const done = await plotted('queue-throughput');
    expect(sum(series(done, 'sync'))).toBe(2);
    expect(sum(series(done, 'failed (all queues)'))).toBe(0);
    await shot('queues');
    expect(await drawnAbove('queue-depth', '#d62728')).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  });
});
