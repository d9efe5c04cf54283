// What each tile asks: its `query` inputs for the page's state (range and filters). Kept apart from
// the drawing (tiles.js, which brings ECharts), so that a page can send a dashboard's questions
// as soon as it knows the tiles, while ECharts is still loading.

import { runQuery } from './api.js';
import { parseInterval, shiftPeriod } from './format.js';

/** The state's filters split into those the tile applies and those its metrics cannot reach. */
export function filtersFor(spec, index, state) {
  const applied = [];
  const skipped = [];
  for (const f of state.filters) {
    if (f.source === index) continue; // a tile is not filtered by its own drill-down
    (spec.reaches.includes(f.member) ? applied : skipped).push(f);
  }
  return { applied, skipped };
}

/** The range a tile asks for: none for `all`, its own (resolved by the server) for `own`, else the page's. */
export function rangeOf(spec, state) {
  if (spec.timeRange === 'all') return null;
  return spec.timeRange === 'own' ? spec.range : state.range;
}

function input(spec, index, state, extra = {}) {
  const { applied } = filtersFor(spec, index, state);
  return {
    metrics: spec.metrics,
    dimensions: spec.dimensions,
    filters: applied.map((f) => ({ member: f.member, op: 'IN', values: f.values })),
    timeRange: rangeOf(spec, state),
    ...extra,
  };
}

/** The KPI's metric by period over the range, reaching back by `compare` so that the earlier
 *  period comes in the same answer. */
function kpi(spec, index, state) {
  const time = `metric_time:${spec.grain}`;
  const compare = spec.compare ? parseInterval(spec.compare) : null;
  const range = { ...rangeOf(spec, state) };
  if (compare && range.start) range.start = shiftPeriod(range.start, -compare.count, compare.unit);
  return [input(spec, index, state, { dimensions: [time], timeRange: range, orderBy: [{ member: time }] })];
}

/** Time in order; otherwise the highest first (top N with `limit`). */
function ordered(spec) {
  const [first] = spec.dimensions;
  if (!first) return undefined;
  if (spec.kind === 'line' || first.includes(':')) return [{ member: first }];
  if (spec.kind === 'heatmap') return undefined;
  return [{ member: spec.metrics[0], desc: true }];
}

/** A table's rows, and its total: the same question without the dimensions, answered by the layer. */
function table(spec, index, state) {
  const rows = input(spec, index, state, { orderBy: ordered(spec), limit: spec.limit || undefined });
  return spec.dimensions.length ? [rows, input(spec, index, state, { dimensions: [] })] : [rows];
}

export function questions(spec, index, state) {
  if (spec.kind === 'kpi') return kpi(spec, index, state);
  if (spec.kind === 'table') return table(spec, index, state);
  return [input(spec, index, state, { orderBy: ordered(spec), limit: spec.limit || undefined })];
}

/** Send a tile's questions; the answers in order. */
export function ask(spec, index, state) {
  return Promise.all(questions(spec, index, state).map((q) => runQuery(q)));
}
