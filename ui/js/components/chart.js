// Time-series charts drawn by uPlot, which the server hands out from its installed package under
// /ui/vendor/ (no CDN; the CSP allows only same-origin scripts). uPlot styles its elements through
// the CSSOM (element.style), which the CSP's style-src 'self' permits.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { h } from '../dom.js';

const HEIGHT = 200;
const WHOLE_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];

/** Line colours, distinguishable on white and for the common colour-vision deficiencies. */
export const PALETTE = ['#1f77b4', '#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];

/**
 * A chart of one quantity over time: `series` = [{label, color, dash?, value(point) → number|null}],
 * `format(n)` prints the y values (axis and legend); `whole` keeps the y ticks on whole numbers.
 * `update(points, pointTime)` redraws with new data; the uPlot instance is the element's `uplot`
 * property (devtools and the browser tests read the plotted data from it).
 */
export function timeChart({ name, title, series, format = String, range, whole = false }) {
  const plot = h('div', { class: 'chart-plot' });
  // Our own legend rather than uPlot's, which is a <table>: a chart's legend is not tabular data.
  const hovered = h('span', { class: 'chart-time' });
  const values = series.map(() => h('span', { class: 'chart-value' }));
  const legend = h(
    'ul',
    { class: 'chart-legend' },
    series.map((s, i) => {
      const swatch = h('span', { class: ['swatch', s.dash ? 'dashed' : null] });
      swatch.style.borderColor = s.color;
      return h('li', { 'data-series': s.label }, swatch, s.label, values[i]);
    }),
    h('li', {}, hovered),
  );
  const element = h('figure', { class: 'chart', 'data-chart': name }, h('figcaption', {}, title), plot, legend);
  // The values of the step under the mouse pointer; nothing when the pointer is elsewhere.
  const showCursor = (u) => {
    const idx = u.cursor.idx;
    hovered.textContent = idx == null ? '' : new Date(u.data[0][idx] * 1000).toLocaleString();
    values.forEach((el, i) => {
      const v = idx == null ? undefined : u.data[i + 1][idx];
      el.textContent = idx == null ? '' : v == null ? ' —' : ` ${format(v)}`;
    });
  };
  let u;
  let resize;

  function options(width) {
    return {
      width,
      height: HEIGHT,
      scales: { x: { time: true }, y: range ? { range } : { range: (_u, min, max) => [0, Math.max(max, 1) * 1.1] } },
      legend: { show: false },
      hooks: { setCursor: [showCursor] },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.dash ? { dash: s.dash } : {}),
          // Gaps (no lookups, no sample) stay visible as gaps, except for sampled depths.
          spanGaps: s.spanGaps === true,
          // Where points are too dense to draw, a lone value between gaps (one depth sample, one
          // minute with cache lookups) still gets its dot: a line needs two values.
          points: { size: 7, fill: s.color, filter: (_u, si, show) => (show ? null : isolated(_u.data[si])) },
        })),
      ],
      // Counts get whole-number ticks only (no "0.3 requests" on a quiet chart).
      axes: [{}, { size: 64, values: (_u, ticks) => ticks.map(format), ...(whole ? { incrs: WHOLE_INCREMENTS } : {}) }],
    };
  }

  return {
    element,
    update(points, timeOf) {
      const data = [points.map((p) => Date.parse(timeOf(p)) / 1000), ...series.map((s) => points.map((p) => s.value(p)))];
      if (u === undefined) {
        u = new uPlot(options(plot.clientWidth || 300), data, plot);
        element.uplot = u;
        resize = new ResizeObserver(() => {
          if (plot.clientWidth > 0 && Math.abs(plot.clientWidth - u.width) > 4) u.setSize({ width: plot.clientWidth, height: HEIGHT });
        });
        resize.observe(plot);
      } else {
        u.setData(data);
      }
    },
    destroy() {
      resize?.disconnect();
      u?.destroy();
    },
  };
}

/** Indices of the values with no value on either side (null when there are none). */
function isolated(values) {
  const idxs = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) idxs.push(i);
  }
  return idxs.length === 0 ? null : idxs;
}

export const formatCount = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
export const formatMs = (n) => (n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n * 10) / 10} ms`);
export const formatPercent = (n) => `${Math.round(n)} %`;
