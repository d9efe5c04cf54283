// A dashboard's tiles. Each tile builds its DOM and chart once and, on every refresh, asks its
// queries again and redraws in place: nothing is created per refresh that is not released by the
// next (a wall screen refreshes for days). Every number comes from `query` answers: a table's total
// row is the same query without the dimensions, answered by the layer, never summed here.

import { Chart, Sparkline, barOption, funnelOption, heatmapOption, lineOption } from './charts.js';
import { fill, h } from './dom.js';
import {
  dimensionLabel,
  formatChange,
  formatMember,
  formatValue,
  grainOf,
  parseInterval,
  periodKey,
  periodLabel,
  shiftPeriod,
  thresholdLevel,
} from './format.js';
import { ask, filtersFor, rangeOf } from './questions.js';

const WIDE = new Set(['line', 'bar', 'stacked_bar', 'heatmap', 'table', 'funnel']);

export function makeTile(spec, index, page) {
  const Kind = { kpi: KpiTile, table: TableTile }[spec.kind] || ChartTile;
  return new Kind(spec, index, page);
}

class Tile {
  constructor(spec, index, page) {
    this.spec = spec;
    this.index = index;
    this.page = page;
    this.generation = 0;
    this.title = h('h2', {}, spec.title || autoTitle(spec, page.ctx));
    this.badges = h('div', { class: 'badges' });
    this.note = h('p', { class: 'note' });
    this.body = h('div', { class: 'body' });
    this.el = h(
      'section',
      { class: `tile kind-${spec.kind}${WIDE.has(spec.kind) ? ' wide' : ''}`, dataset: { kind: spec.kind, index: String(index), state: 'loading' } },
      h('header', {}, this.title, this.badges),
      this.body,
      this.note,
    );
  }

  showBadges(state) {
    const { skipped } = filtersFor(this.spec, this.index, state);
    const names = [...new Set(skipped.map((f) => f.member))];
    this.el.dataset.unfiltered = names.join(' ');
    fill(
      this.badges,
      names.map((m) =>
        h('span', { class: 'badge', title: `This tile's metrics cannot be filtered by ${m}: its numbers ignore that filter.` }, `not filtered by ${dimensionLabel(this.page.ctx, m)}`),
      ),
    );
  }

  /** Ask the tile's questions (or take the answers already asked for) and draw them. */
  async refresh(state, asked = null) {
    const generation = ++this.generation;
    this.el.dataset.state = 'loading';
    this.showBadges(state);
    try {
      const answers = await (asked || ask(this.spec, this.index, state));
      if (generation !== this.generation) return; // a newer refresh started meanwhile
      this.render(answers, state);
      const warnings = answers.flatMap((a) => (a && a.warnings) || []);
      fill(this.note, warnings.length ? warnings[0] : '');
      this.note.title = warnings.join('\n');
      this.el.dataset.state = 'ready';
    } catch (error) {
      if (generation !== this.generation) return;
      this.failed(error);
    }
  }

  failed(error) {
    this.el.dataset.state = 'error';
    this.el.dataset.error = error.code || 'INTERNAL';
    fill(this.note, error.message);
  }

  dispose() {}
}

function autoTitle(spec, ctx) {
  const metrics = spec.metrics.map((m) => (ctx.metrics.get(m) || {}).label || m).join(' · ');
  const dims = spec.dimensions.filter((d) => !d.startsWith('metric_time')).map((d) => dimensionLabel(ctx, d));
  return dims.length ? `${metrics} — ${dims.join(' × ')}` : metrics;
}

// -- KPI: the last period's value, its change, threshold colour and a sparkline -------------------
class KpiTile extends Tile {
  constructor(spec, index, page) {
    super(spec, index, page);
    this.metric = page.ctx.metrics.get(spec.metrics[0]) || { name: spec.metrics[0] };
    this.value = h('div', { class: 'kpi-value' }, '…');
    this.period = h('div', { class: 'kpi-period' });
    this.change = h('div', { class: 'kpi-change' });
    this.spark = h('div', { class: 'kpi-spark' });
    fill(this.body, h('div', { class: 'kpi' }, this.value, this.period, this.change), this.spark);
    this.sparkline = new Sparkline(this.spark);
    this.time = `metric_time:${spec.grain}`;
  }

  render([answer], state) {
    const name = this.metric.name;
    const start = rangeOf(this.spec, state)?.start ?? null;
    const from = start ? periodKey(start) : null;
    const inRange = answer.rows.filter((row) => from === null || periodKey(row[this.time]) >= from);
    const last = inRange[inRange.length - 1];
    const value = last ? last[name] : null;
    const level = thresholdLevel(value, this.metric.thresholds);
    this.el.dataset.level = level || 'none';
    this.el.dataset.value = value === null || value === undefined ? '' : String(value);
    this.el.dataset.period = last ? String(last[this.time]) : '';
    fill(this.value, formatValue(value, this.metric.format, { compact: true }));
    this.value.title = formatValue(value, this.metric.format);
    fill(this.period, last ? periodLabel(last[this.time], this.spec.grain) : 'no data in the range');
    this.renderChange(answer, last);
    this.sparkline.show(inRange.map((row) => row[name]));
  }

  renderChange(answer, last) {
    const compare = this.spec.compare ? parseInterval(this.spec.compare) : null;
    this.change.className = 'kpi-change';
    delete this.el.dataset.change;
    if (!compare || !last) return fill(this.change, '');
    const earlier = shiftPeriod(last[this.time], -compare.count, compare.unit);
    const before = answer.rows.find((row) => periodKey(row[this.time]) === periodKey(earlier));
    const change = formatChange(last[this.metric.name], before ? before[this.metric.name] : null, this.metric.format);
    const against = `vs ${periodLabel(earlier, this.spec.grain)}`;
    if (!change) return fill(this.change, `— ${against}`);
    const up = change.delta > 0;
    const good = this.metric.direction ? up === (this.metric.direction === 'up') : null;
    this.change.classList.add(change.delta === 0 ? 'flat' : up ? 'up' : 'down');
    if (good !== null && change.delta !== 0) this.change.classList.add(good ? 'good' : 'bad');
    this.el.dataset.change = String(change.delta);
    return fill(this.change, `${change.delta === 0 ? '■' : up ? '▲' : '▼'} ${change.text} ${against}`);
  }
}

// -- charts: line, bar, stacked bar, funnel, heatmap -------------------------------------------------
class ChartTile extends Tile {
  constructor(spec, index, page) {
    super(spec, index, page);
    this.canvas = h('div', { class: 'chart' });
    fill(this.body, this.canvas);
    this.chart = new Chart(this.canvas, { dark: page.ctx.dark, onClick: (params) => this.clicked(params) });
    this.meta = null;
  }

  render([answer], state) {
    const ctx = this.page.ctx;
    const kind = this.spec.kind;
    this.el.dataset.rows = String(answer.rows.length);
    if (kind === 'line') {
      this.meta = null;
      this.chart.show(lineOption(answer, this.spec, ctx));
    } else if (kind === 'funnel') {
      this.meta = null;
      this.chart.show(funnelOption(answer, this.spec, ctx));
    } else if (kind === 'heatmap') {
      this.meta = heatmapOption(answer, this.spec, ctx);
      this.chart.show(this.meta.option);
    } else {
      const selected = this.selection(state);
      this.meta = barOption(answer, this.spec, ctx, { stacked: kind === 'stacked_bar', selected });
      this.chart.show(this.meta.option);
    }
  }

  /** The value of this tile's first dimension that its own drill-down selected, if any. */
  selection(state) {
    const mine = state.filters.find((f) => f.source === this.index && f.member === this.spec.dimensions[0]);
    return mine ? mine.values[0] : null;
  }

  /** A click on a bar or a heatmap cell drills down: the other tiles are filtered by its values. */
  clicked(params) {
    if (!this.meta) return;
    const picks = [];
    const dims = this.spec.dimensions;
    if (this.meta.categories) {
      const category = this.meta.categories[params.dataIndex];
      if (category) picks.push({ member: dims[0], value: category.value });
      const series = this.meta.plan[params.seriesIndex];
      if (dims[1] && series) picks.push({ member: dims[1], value: series.raw });
    } else if (this.meta.rows) {
      const [x, y] = params.value || params.data || [];
      const row = this.meta.rows[y];
      if (row) picks.push({ member: dims[0], value: row.value });
      const column = this.meta.columns[x];
      if (dims[1] && column) picks.push({ member: dims[1], value: column.raw });
    }
    this.page.drill(this.index, picks.filter((p) => !p.member.includes(':')));
  }

  dispose() {
    this.chart.dispose();
  }
}

// -- table, with the layer's total row ----------------------------------------------------------------
class TableTile extends Tile {
  constructor(spec, index, page) {
    super(spec, index, page);
    const ctx = page.ctx;
    this.columns = [
      ...spec.dimensions.map((d) => ({ name: d, kind: 'dimension', label: dimensionLabel(ctx, d) })),
      ...spec.metrics.map((m) => ({ name: m, kind: 'metric', label: (ctx.metrics.get(m) || {}).label || m })),
    ];
    this.head = h('thead', {}, h('tr', {}, this.columns.map((c) => h('th', { class: c.kind, scope: 'col' }, c.label))));
    this.rows = h('tbody');
    this.total = h('tfoot');
    this.answerRows = [];
    this.rows.addEventListener('click', (event) => this.clicked(event));
    this.rows.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') this.clicked(event);
    });
    fill(this.body, h('div', { class: 'table-wrap' }, h('table', {}, this.head, this.rows, this.total)));
  }

  render([answer, total], state) {
    const ctx = this.page.ctx;
    const byName = new Map(answer.columns.map((c) => [c.name, c]));
    const chosen = state.filters.filter((f) => f.source === this.index);
    this.answerRows = answer.rows;
    const drillable = this.spec.dimensions.some((d) => !d.includes(':'));
    fill(
      this.rows,
      answer.rows.map((row, i) => {
        const selected = chosen.length > 0 && chosen.every((f) => String(row[f.member]) === String(f.values[0]));
        return h(
          'tr',
          { dataset: { row: String(i) }, tabindex: drillable ? '0' : null, class: selected ? 'selected' : null },
          this.columns.map((c) => cell(row[c.name], c, byName.get(c.name), ctx)),
        );
      }),
    );
    this.el.dataset.rows = String(answer.rows.length);
    if (!total) return fill(this.total);
    const totals = total.rows[0] || {};
    return fill(
      this.total,
      h(
        'tr',
        { class: 'total' },
        this.columns.map((c, i) =>
          c.kind === 'metric'
            ? cell(totals[c.name], c, byName.get(c.name), ctx)
            : h('th', { scope: 'row' }, i === 0 ? 'Total' : ''),
        ),
      ),
    );
  }

  clicked(event) {
    const tr = event.target.closest('tr[data-row]');
    if (!tr) return;
    const row = this.answerRows[Number(tr.dataset.row)];
    const picks = this.spec.dimensions.filter((d) => !d.includes(':')).map((d) => ({ member: d, value: row[d] }));
    if (picks.length) this.page.drill(this.index, picks);
  }
}

function cell(value, column, answerColumn, ctx) {
  if (column.kind === 'metric') {
    const format = (ctx.metrics.get(column.name) || {}).format;
    return h('td', { class: 'num', dataset: { value: value === null || value === undefined ? '' : String(value) } }, formatValue(value, format));
  }
  return h('td', {}, formatMember(value, answerColumn, grainOf(column.name)));
}
