import type { Metric, Registry } from 'prom-client';

/**
 * One series of a SeriesHistogram, held by the code that observes it: an observation is a bucket
 * search over the bounds and three additions.
 */
export class HistogramSeries {
  /** Observations per bucket, not cumulative; the last one counts those above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    // A non-finite value would make the sum NaN for good (prom-client refuses one with a TypeError).
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface ExposedValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Readonly<Record<string, string>>;
  metricName: string;
  exemplar?: null;
}

/**
 * A Prometheus histogram with labels, exposed on the registry exactly as a prom-client Histogram
 * (`<name>_bucket` with cumulative counts and `le`, `<name>_sum`, `<name>_count`, the same help and
 * type lines), whose series are looked up once and then held by their callers. prom-client's
 * `observe` validates the label set, builds its hash string, allocates and finds the bucket through
 * number-keyed properties on every call — about 0.4 µs, three times per cache hit, most of what the
 * execute metrics cost a hit. The registry reads `name`, `type`, `get()` (and `getForPromString()`
 * for the text format) and `reset()` of a metric; this class provides them.
 */
export class SeriesHistogram<T extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  private readonly labelNames: readonly T[];
  private readonly all = new Map<string, HistogramSeries>();

  constructor(config: { name: string; help: string; labelNames: readonly T[]; buckets: readonly number[]; registers: Registry[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    // The registry takes prom-client's own metric classes in its types; at run time it reads only the members above.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series of `labels`, created (at zero, and exposed from then on) when first asked for. Keep
   * it: finding it again joins the label values into a key.
   */
  series(labels: Readonly<Record<T, string>>): HistogramSeries {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.all.get(key);
    if (series === undefined) {
      series = new HistogramSeries(Object.fromEntries(this.labelNames.map((name) => [name, labels[name]])), this.bounds);
      this.all.set(key, series);
    }
    return series;
  }

  /** The exposition values as prom-client's Histogram gives them to the registry for the text format. */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: ExposedValue[] } {
    const values: ExposedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.all.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ value: cumulative, labels: { le }, sharedLabels: series.labels, metricName: bucket, exemplar: null });
      });
      values.push({ value: series.count, labels: { le: '+Inf' }, sharedLabels: series.labels, metricName: bucket, exemplar: null });
      values.push({ value: series.sum, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The values with each series' labels in `labels` (prom-client's `get()`; JSON and cluster aggregation). */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExposedValue[] }> {
    const metric = this.getForPromString();
    const values = metric.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return Promise.resolve({ ...metric, values });
  }

  /** Zeroes every series (their holders keep observing into them). */
  reset(): void {
    for (const series of this.all.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
