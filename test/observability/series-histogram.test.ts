import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from '../../src/observability/histogram.js';
import { ConnectorSeries, ConnectorExecutions, GatehouseMetrics } from '../../src/observability/metrics.js';
import { parseMetrics, value } from '../support/metrics.js';

const BUCKETS = [0.001, 0.0025, 0.01, 0.1, 1];
// On, between and above the bounds; a label value that needs escaping.
const OBSERVED: [Record<'tenant' | 'connector', string>, number[]][] = [
  [{ tenant: 'acme', connector: 'ok' }, [0, 0.001, 0.0011, 0.0025, 0.05, 0.1, 2, 30]],
  [{ tenant: 'acme', connector: 'q"u\\ote' }, [0.5]],
  [{ tenant: 'beta', connector: 'ok' }, [0.002, 0.002]],
];

function pair(): { ours: Registry; theirs: Registry; histogram: SeriesHistogram<'tenant' | 'connector'> } {
  const ours = new Registry();
  const theirs = new Registry();
  const histogram = new SeriesHistogram({ name: 'gatehouse_x_seconds', help: 'What x took', labelNames: ['tenant', 'connector'], buckets: BUCKETS, registers: [ours] });
  const reference = new Histogram({ name: 'gatehouse_x_seconds', help: 'What x took', labelNames: ['tenant', 'connector'], buckets: BUCKETS, registers: [theirs] });
  for (const [labels, values] of OBSERVED) {
    for (const v of values) {
      histogram.series(labels).observe(v);
      reference.observe(labels, v);
    }
  }
  return { ours, theirs, histogram };
}

describe('SeriesHistogram', () => {
  it('is exposed exactly as a prom-client Histogram given the same observations (text and JSON)', async () => {
    const { ours, theirs } = pair();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    const samples = parseMetrics(await ours.metrics());
    expect(value(samples, 'gatehouse_x_seconds_bucket', { tenant: 'acme', connector: 'ok', le: '0.001' })).toBe(2);
    expect(value(samples, 'gatehouse_x_seconds_bucket', { tenant: 'acme', connector: 'ok', le: '+Inf' })).toBe(8);
    expect(value(samples, 'gatehouse_x_seconds_count', { tenant: 'beta' })).toBe(2);
  });

  it('hands out one series per label set, and ignores a value that is not a finite number', async () => {
    const { ours, histogram } = pair();
    const held = histogram.series({ tenant: 'acme', connector: 'ok' });
    expect(histogram.series({ connector: 'ok', tenant: 'acme' })).toBe(held);
    held.observe(Number.NaN);
    held.observe(Number.POSITIVE_INFINITY);
    const samples = parseMetrics(await ours.metrics());
    expect(value(samples, 'gatehouse_x_seconds_count', { tenant: 'acme', connector: 'ok' })).toBe(8);
    expect(value(samples, 'gatehouse_x_seconds_sum', { tenant: 'acme', connector: 'ok' })).toBeCloseTo(32.1546, 6);
  });

  it('reset zeroes every series, and a series held before it counts on from zero', async () => {
    const { ours, histogram } = pair();
    const held = histogram.series({ tenant: 'acme', connector: 'ok' });
    ours.resetMetrics();
    held.observe(0.003);
    const samples = parseMetrics(await ours.metrics());
    expect(value(samples, 'gatehouse_x_seconds_count', { tenant: 'acme', connector: 'ok' })).toBe(1);
    expect(value(samples, 'gatehouse_x_seconds_bucket', { tenant: 'acme', connector: 'ok', le: '0.01' })).toBe(1);
    expect(value(samples, 'gatehouse_x_seconds_bucket', { tenant: 'acme', connector: 'ok', le: '0.0025' })).toBe(0);
    expect(value(samples, 'gatehouse_x_seconds_count', { tenant: 'beta', connector: 'ok' })).toBe(0);
  });
});

describe('ConnectorSeries', () => {
  const series = (max: number) => {
    const registry = new Registry();
    const histogram = new SeriesHistogram({ name: 'gatehouse_x_seconds', help: 'x', labelNames: ['tenant', 'connector'], buckets: BUCKETS, registers: [registry] });
    return new ConnectorSeries(max, (tenant, connector) => new ConnectorExecutions(tenant, connector, histogram.series({ tenant, connector })));
  };

  it('gives the first max pairs their own series, later pairs their tenant\'s "other" one; (unknown) is outside the cap', () => {
    const s = series(2);
    const a = s.of('acme', 'a');
    expect(s.of('acme', 'a')).toBe(a);
    expect(s.of('beta', 'b').connector).toBe('b');
    expect(s.of('acme', 'c').connector).toBe('other');
    expect(s.of('acme', 'd')).toBe(s.of('acme', 'c'));
    expect(s.of('beta', 'e').connector).toBe('other');
    expect(s.of('beta', 'e')).not.toBe(s.of('acme', 'c'));
    expect(s.of('acme', '(unknown)').connector).toBe('(unknown)');
    expect(s.of('(unknown)', '(unknown)').tenant).toBe('(unknown)');
    // A pair that had its own series keeps it.
    expect(s.of('acme', 'a').connector).toBe('a');
  });

  it('holds request counts until a scrape hands them to the counter, once', async () => {
    const registry = new Registry();
    const metrics = new GatehouseMetrics(registry, { maxConnectorSeries: 10 });
    const executions = metrics.connectorSeries.of('acme', 'ok');
    executions.count('GET', '2xx', 'HIT');
    executions.count('GET', '2xx', 'HIT');
    executions.count('POST', '5xx', 'BYPASS');
    let samples = parseMetrics(await registry.metrics());
    expect(value(samples, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: 'ok', method: 'GET', status_class: '2xx', cache: 'HIT' })).toBe(2);
    expect(value(samples, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: 'ok', method: 'POST', status_class: '5xx', cache: 'BYPASS' })).toBe(1);
    executions.count('GET', '2xx', 'HIT');
    samples = parseMetrics(await registry.metrics());
    expect(value(samples, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: 'ok', method: 'GET', status_class: '2xx', cache: 'HIT' })).toBe(3);
    expect(value(samples, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: 'ok', method: 'POST' })).toBe(1);
    expect(registry.getSingleMetric('gatehouse_execute_requests_total')).toBeInstanceOf(Counter);
  });
});
