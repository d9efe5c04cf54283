// ECharts options for each kind of tile, built from a query's answer. Labels come from the metrics'
// and dimensions' `label`, values are formatted by each metric's `format`; text is drawn on the
// canvas (tooltips too: renderMode 'richText'), so no value from data is ever parsed as HTML.

import * as echarts from '../vendor/echarts.min.js';
import { formatMember, formatValue, grainOf, isTime, periodKey } from './format.js';

export const FONT =
  'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", ' +
  '"Hiragino Sans GB", "Microsoft YaHei", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif';

const LEVEL_COLOURS = { warn: 'rgba(245, 166, 35, 0.16)', critical: 'rgba(220, 53, 69, 0.16)' };
const LINE_COLOURS = { warn: '#d48806', critical: '#cf1322' };
const FADED = 0.3;

/** One chart instance, kept for the life of its tile: refreshes call `show` with a new option
 *  (notMerge), so a wall screen refreshing for hours reuses the same canvas and listeners. */
export class Chart {
  constructor(element, { dark = false, onClick = null } = {}) {
    this.element = element;
    this.chart = echarts.init(element, dark ? 'dark' : null, { renderer: 'canvas' });
    this.onClick = onClick;
    if (onClick) this.chart.on('click', (params) => this.onClick(params));
    // Redraw when the tile changes size; not for the first report of the size it was drawn at.
    this.size = [element.clientWidth, element.clientHeight];
    this.resizer = new ResizeObserver(() => {
      const size = [element.clientWidth, element.clientHeight];
      if (size[0] === this.size[0] && size[1] === this.size[1]) return;
      this.size = size;
      this.chart.resize();
    });
    this.resizer.observe(element);
  }

  show(option) {
    this.chart.setOption(
      { animation: false, backgroundColor: 'transparent', textStyle: { fontFamily: FONT }, ...option },
      { notMerge: true },
    );
  }

  dispose() {
    this.resizer.disconnect();
    this.chart.dispose();
  }
}

function tooltip(extra = {}) {
  return { renderMode: 'richText', confine: true, ...extra };
}

function metricLabel(ctx, name) {
  const m = ctx.metrics.get(name);
  return (m && m.label) || name;
}

function metricFormat(ctx, name) {
  const m = ctx.metrics.get(name);
  return m ? m.format : null;
}

function columnOf(answer, name) {
  return answer.columns.find((c) => c.name === name) || { name, type: 'string' };
}

/** Distinct values of `name` in the rows, in order of appearance (time: in time order). */
function distinct(rows, name, time) {
  const seen = new Map();
  for (const row of rows) {
    const value = row[name];
    const key = time ? periodKey(value) : JSON.stringify(value);
    if (!seen.has(key)) seen.set(key, value);
  }
  const entries = [...seen.entries()];
  if (time) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries.map(([key, value]) => ({ key, value }));
}

function keyOf(value, time) {
  return time ? periodKey(value) : JSON.stringify(value);
}

/** Value axes: one per metric format (at most two; a third format shares the first axis). */
function valueAxes(formats, ctx, extra = {}) {
  const distinctFormats = [...new Set(formats)];
  const axes = distinctFormats.slice(0, 2).map((format, i) => ({
    type: 'value',
    position: i === 0 ? 'left' : 'right',
    scale: false,
    splitLine: { show: i === 0 },
    minInterval: format === 'integer' ? 1 : undefined, // no 0.2 steps on a count
    axisLabel: { formatter: (v) => formatValue(v, format, { compact: true }) },
    ...extra,
  }));
  const axisOf = (format) => Math.max(0, Math.min(1, distinctFormats.indexOf(format)));
  return { axes, axisOf };
}

function grid(legend) {
  return { left: 8, right: 12, top: legend ? 34 : 12, bottom: 8, containLabel: true };
}

/** The series a tile draws: one per metric, or one per value of its second dimension. */
function seriesPlan(answer, tile, ctx) {
  const [first, second] = tile.dimensions;
  const time = isTime(columnOf(answer, first));
  const categories = distinct(answer.rows, first, time);
  const index = new Map(categories.map((c, i) => [c.key, i]));
  const plan = [];
  if (second) {
    const metric = tile.metrics[0];
    const secondTime = isTime(columnOf(answer, second));
    for (const s of distinct(answer.rows, second, secondTime)) {
      const data = new Array(categories.length).fill(null);
      for (const row of answer.rows) {
        if (keyOf(row[second], secondTime) === s.key) data[index.get(keyOf(row[first], time))] = row[metric];
      }
      plan.push({ name: formatMember(s.value, columnOf(answer, second)), metric, raw: s.value, data });
    }
  } else {
    for (const metric of tile.metrics) {
      const data = new Array(categories.length).fill(null);
      for (const row of answer.rows) data[index.get(keyOf(row[first], time))] = row[metric];
      plan.push({ name: metricLabel(ctx, metric), metric, raw: null, data });
    }
  }
  return { categories, plan, time, column: columnOf(answer, first) };
}

export function lineOption(answer, tile, ctx) {
  const { categories, plan, column } = seriesPlan(answer, tile, ctx);
  const formats = plan.map((s) => metricFormat(ctx, s.metric));
  const { axes, axisOf } = valueAxes(formats, ctx);
  const series = plan.map((s, i) => ({
    type: 'line',
    name: s.name,
    data: s.data,
    yAxisIndex: axisOf(formats[i]),
    showSymbol: categories.length <= 24,
    connectNulls: false,
    tooltip: { valueFormatter: (v) => formatValue(v, formats[i]) },
  }));
  const banded = new Set(plan.map((s) => s.metric)).size === 1 ? ctx.metrics.get(plan[0].metric) : null;
  if (banded && banded.thresholds && series.length) {
    drawBands(series[0], axes[0], banded.thresholds, plan.flatMap((s) => s.data));
  }
  const legend = series.length > 1;
  return {
    grid: grid(legend),
    legend: legend ? { type: 'scroll', top: 0 } : undefined,
    tooltip: tooltip({ trigger: 'axis' }),
    xAxis: { type: 'category', data: categories.map((c) => formatMember(c.value, column, grainOf(tile.dimensions[0]))) },
    yAxis: axes,
    series,
  };
}

/** Warn and critical zones as bands behind the line, their bounds as dashed lines; the value axis
 *  is stretched to show every bound. */
function drawBands(series, axis, thresholds, values) {
  const bounds = [];
  for (const level of ['warn', 'critical']) {
    const t = thresholds[level];
    if (!t) continue;
    if (t.above !== undefined && t.above !== null) bounds.push({ level, side: 'above', at: t.above });
    if (t.below !== undefined && t.below !== null) bounds.push({ level, side: 'below', at: t.below });
  }
  if (!bounds.length) return;
  const numbers = values.filter((v) => typeof v === 'number');
  const aboves = bounds.filter((b) => b.side === 'above').map((b) => b.at);
  const belows = bounds.filter((b) => b.side === 'below').map((b) => b.at);
  // The axis shows the data and the nearest bound on each side, not every bound: a critical bound
  // far above the values would squash the line flat. Farther zones are clipped to the axis.
  const top = Math.max(numbers.length ? Math.max(...numbers) : 0, aboves.length ? Math.min(...aboves) : -Infinity);
  const bottom = Math.min(0, ...numbers, belows.length ? Math.max(...belows) : Infinity);
  const max = top + (top - bottom) * 0.1 || 1;
  const clip = (v) => Math.max(bottom, Math.min(max, v));
  axis.max = max;
  axis.min = bottom;
  axis.axisLabel = { ...axis.axisLabel, showMaxLabel: false }; // an odd top value would crowd the tick below
  const areas = [];
  for (const level of ['warn', 'critical']) {
    const above = bounds.find((b) => b.level === level && b.side === 'above');
    const below = bounds.find((b) => b.level === level && b.side === 'below');
    const worse = level === 'warn' ? bounds.filter((b) => b.level === 'critical') : [];
    if (above) {
      const until = worse.find((b) => b.side === 'above');
      areas.push([level, above.at, until ? until.at : max]);
    }
    if (below) {
      const until = worse.find((b) => b.side === 'below');
      areas.push([level, until ? until.at : bottom, below.at]);
    }
  }
  series.markArea = {
    silent: true,
    data: areas.map(([level, from, to]) => [clip(from), clip(to), level]).filter(([from, to]) => to > from).map(([from, to, level]) => area(level, from, to)),
  };
  series.markLine = {
    silent: true,
    symbol: 'none',
    label: { show: false },
    data: bounds.filter((b) => b.at >= bottom && b.at <= max).map((b) => ({ yAxis: b.at, lineStyle: { color: LINE_COLOURS[b.level], type: 'dashed' } })),
  };
}

function area(level, from, to) {
  return [{ yAxis: from, itemStyle: { color: LEVEL_COLOURS[level] } }, { yAxis: to }];
}

/** Bars ({option, categories, plan}): categories are the first dimension's values. */
export function barOption(answer, tile, ctx, { stacked = false, selected = null } = {}) {
  const { categories, plan, column } = seriesPlan(answer, tile, ctx);
  const formats = plan.map((s) => metricFormat(ctx, s.metric));
  const { axes, axisOf } = valueAxes(stacked ? [formats[0]] : formats, ctx);
  const chosen = selected === null ? -1 : categories.findIndex((c) => c.key === keyOf(selected, false));
  const series = plan.map((s, i) => ({
    type: 'bar',
    name: s.name,
    stack: stacked ? 'total' : undefined,
    yAxisIndex: stacked ? 0 : axisOf(formats[i]),
    data: s.data.map((value, j) => ({ value, itemStyle: chosen >= 0 && j !== chosen ? { opacity: FADED } : undefined })),
    tooltip: { valueFormatter: (v) => formatValue(v, formats[i]) },
    cursor: 'pointer',
  }));
  const labels = categories.map((c) => formatMember(c.value, column, grainOf(tile.dimensions[0])));
  const legend = series.length > 1;
  const option = {
    grid: grid(legend),
    legend: legend ? { type: 'scroll', top: 0 } : undefined,
    tooltip: tooltip({ trigger: 'axis', axisPointer: { type: 'shadow' } }),
    xAxis: {
      type: 'category',
      data: labels,
      axisLabel: { interval: 0, rotate: labels.length > 6 ? 35 : 0, hideOverlap: true },
    },
    yAxis: axes,
    series,
  };
  return { option, categories, plan };
}

export function funnelOption(answer, tile, ctx) {
  const row = answer.rows[0] || {};
  const data = tile.metrics.map((metric) => ({ name: metricLabel(ctx, metric), value: row[metric] ?? 0, metric }));
  const formats = new Map(tile.metrics.map((m) => [metricLabel(ctx, m), metricFormat(ctx, m)]));
  return {
    tooltip: tooltip({ trigger: 'item', formatter: (p) => `${p.name}: ${formatValue(p.value, formats.get(p.name))}` }),
    series: [
      {
        type: 'funnel',
        sort: 'none',
        gap: 2,
        left: '4%',
        width: '58%',
        top: 8,
        bottom: 8,
        minSize: '10%',
        label: {
          position: 'right',
          formatter: (p) => `${p.name}  ${formatValue(p.value, formats.get(p.name), { compact: true })}`,
        },
        data,
      },
    ],
  };
}

/** A heatmap ({option, rows, columns}): rows are the first dimension's values; columns the second dimension's, or the
 *  metrics (a cohort table: one retention metric per offset, by cohort period). */
export function heatmapOption(answer, tile, ctx) {
  const [first, second] = tile.dimensions;
  const rowColumn = columnOf(answer, first);
  const rowTime = isTime(rowColumn);
  const rows = distinct(answer.rows, first, rowTime);
  const rowIndex = new Map(rows.map((r, i) => [r.key, i]));
  let columns;
  const cells = [];
  let format;
  if (second) {
    const colColumn = columnOf(answer, second);
    const colTime = isTime(colColumn);
    const found = distinct(answer.rows, second, colTime);
    const colIndex = new Map(found.map((c, i) => [c.key, i]));
    columns = found.map((c) => ({ label: formatMember(c.value, colColumn, grainOf(second)), raw: c.value }));
    const metric = tile.metrics[0];
    format = metricFormat(ctx, metric);
    for (const row of answer.rows) {
      cells.push([colIndex.get(keyOf(row[second], colTime)), rowIndex.get(keyOf(row[first], rowTime)), row[metric]]);
    }
  } else {
    columns = tile.metrics.map((m) => ({ label: metricLabel(ctx, m), raw: null }));
    format = metricFormat(ctx, tile.metrics[0]);
    for (const row of answer.rows) {
      tile.metrics.forEach((m, j) => cells.push([j, rowIndex.get(keyOf(row[first], rowTime)), row[m]]));
    }
  }
  const values = cells.map((c) => c[2]).filter((v) => typeof v === 'number');
  const data = cells.map(([x, y, v]) => [x, y, typeof v === 'number' ? v : '-']);
  const rowLabels = rows.map((r) => formatMember(r.value, rowColumn, grainOf(first)));
  const option = {
    grid: { left: 8, right: 12, top: 8, bottom: 44, containLabel: true },
    tooltip: tooltip({
      trigger: 'item',
      formatter: (p) => `${rowLabels[p.value[1]]} · ${columns[p.value[0]].label}: ${formatValue(p.value[2], format)}`,
    }),
    xAxis: { type: 'category', data: columns.map((c) => c.label), splitArea: { show: true } },
    yAxis: { type: 'category', data: rowLabels, inverse: true },
    visualMap: {
      min: values.length ? Math.min(...values) : 0,
      max: values.length ? Math.max(...values) : 1,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 120,
      calculable: false,
      formatter: (v) => formatValue(v, format, { compact: true }),
    },
    series: [
      {
        type: 'heatmap',
        data,
        label: { show: data.length <= 120, formatter: (p) => formatValue(p.value[2], format, { compact: true }) },
        cursor: 'pointer',
      },
    ],
  };
  return { option, rows, columns };
}

const SVG = 'http://www.w3.org/2000/svg';

/** A KPI's sparkline as a small SVG of two paths, redrawn in place: a chart instance per KPI would
 *  cost more than the rest of the tile. Gaps (periods without a value) break the line. */
export class Sparkline {
  constructor(element) {
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', '0 0 100 30');
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.svg.setAttribute('aria-hidden', 'true');
    this.area = document.createElementNS(SVG, 'path');
    this.area.setAttribute('class', 'area');
    this.line = document.createElementNS(SVG, 'path');
    this.line.setAttribute('class', 'line');
    this.svg.append(this.area, this.line);
    element.append(this.svg);
  }

  show(values) {
    const present = values.filter((v) => typeof v === 'number');
    const low = Math.min(...present);
    const span = Math.max(...present) - low || 1;
    const step = values.length > 1 ? 100 / (values.length - 1) : 0;
    const runs = [];
    let run = [];
    values.forEach((v, i) => {
      if (typeof v !== 'number') {
        if (run.length) runs.push(run);
        run = [];
        return;
      }
      run.push([(i * step).toFixed(2), (28 - ((v - low) / span) * 26).toFixed(2)]);
    });
    if (run.length) runs.push(run);
    const lines = runs.filter((r) => r.length > 1);
    this.line.setAttribute('d', lines.map((r) => `M${r.map((p) => p.join(' ')).join('L')}`).join(''));
    this.area.setAttribute('d', lines.map((r) => `M${r[0][0]} 30L${r.map((p) => p.join(' ')).join('L')}L${r[r.length - 1][0]} 30Z`).join(''));
  }
}
