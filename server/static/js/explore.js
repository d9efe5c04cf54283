// /explore: pick metrics, then only the dimensions every one of them reaches (GraphQL
// `dimensions(metrics:)`), filters, a time range and a grain; see a chart, a table and the SQL.
// The whole view is in the URL (?m=…&d=…&f=member|op|v1,v2&grain=&start=&end=), so it can be shared.

import { gql, runQuery } from './api.js';
import { Chart, barOption, lineOption } from './charts.js';
import { fill, h } from './dom.js';
import { formatMember, formatValue, grainOf } from './format.js';
import { setUpAccount, showProblem } from './shell.js';

const CATALOGUE = `{ metrics { name label format tier thresholds description } }`;
const DIMENSIONS = `query D($metrics: [String!]) { dimensions(metrics: $metrics) { name type label } }`;
const GRAINS = ['day', 'week', 'month', 'quarter', 'year', 'fiscal_quarter', 'fiscal_year', 'hour'];
const OPS = ['in', 'not_in', 'equals', 'not_equals', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'is_null', 'is_not_null'];
const TIER_ORDER = { strategic: 0, tactical: 1, operational: 2 };

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const state = {
  metrics: params.getAll('m'),
  dimensions: params.getAll('d'),
  filters: params.getAll('f').map(parseFilter).filter(Boolean),
  grain: params.get('grain') || 'month',
  start: params.get('start') || '',
  end: params.get('end') || '',
};
let catalogue = new Map();
let reachable = [];
let generation = 0;
let chart = null;
const parts = {};

setUpAccount(() => start());
start();

async function start() {
  let data;
  try {
    data = await gql(CATALOGUE);
  } catch (error) {
    showProblem(main, error);
    return;
  }
  catalogue = new Map(data.metrics.map((m) => [m.name, m]));
  state.metrics = state.metrics.filter((m) => catalogue.has(m));
  build(data.metrics);
  await changed({ metricsChanged: true });
}

function parseFilter(text) {
  const [member, op, values] = text.split('|');
  if (!member || !OPS.includes(op)) return null;
  return { member, op, values: values ? values.split(',') : [] };
}

function build(metrics) {
  if (chart) chart.dispose();
  const sorted = [...metrics].sort((a, b) => (TIER_ORDER[a.tier] ?? 3) - (TIER_ORDER[b.tier] ?? 3) || a.name.localeCompare(b.name));
  const search = h('input', { type: 'search', placeholder: 'Find a metric (name, label)…', 'aria-label': 'Find a metric' });
  parts.metricList = h(
    'ul',
    { class: 'pick-list' },
    sorted.map((m) =>
      h(
        'li',
        { dataset: { text: `${m.name} ${m.label || ''}`.toLocaleLowerCase() } },
        h(
          'label',
          { title: m.description || '' },
          h('input', { type: 'checkbox', name: 'metric', value: m.name, checked: state.metrics.includes(m.name), onchange: pickMetric }),
          ` ${m.label || m.name} `,
          h('code', {}, m.name),
        ),
      ),
    ),
  );
  search.addEventListener('input', () => {
    const needle = search.value.trim().toLocaleLowerCase();
    for (const li of parts.metricList.children) li.hidden = Boolean(needle) && !li.dataset.text.includes(needle);
  });
  parts.dimensionList = h('ul', { class: 'pick-list' });
  parts.filters = h('div', { class: 'filter-rows' });
  const grain = h('select', { name: 'grain', 'aria-label': 'Grain' }, GRAINS.map((g) => h('option', { value: g }, g)));
  grain.value = state.grain;
  grain.addEventListener('change', () => { state.grain = grain.value; changed(); });
  const start = h('input', { type: 'date', name: 'start', value: state.start, 'aria-label': 'From' });
  const end = h('input', { type: 'date', name: 'end', value: state.end, 'aria-label': 'To (exclusive)' });
  start.addEventListener('change', () => { state.start = start.value; changed(); });
  end.addEventListener('change', () => { state.end = end.value; changed(); });
  parts.chart = h('div', { class: 'chart explore-chart' });
  parts.table = h('div', { class: 'table-wrap' });
  parts.sql = h('pre', { class: 'sql' });
  parts.status = h('p', { class: 'note' });
  fill(
    main,
    h(
      'div',
      { class: 'explore' },
      h(
        'aside',
        {},
        h('h2', {}, 'Metrics'),
        search,
        parts.metricList,
        h('h2', {}, 'Dimensions'),
        parts.dimensionList,
        h('h2', {}, 'Filters'),
        parts.filters,
        h('button', { type: 'button', onclick: addFilter }, '+ filter'),
        h('h2', {}, 'Time'),
        h('label', { class: 'control' }, h('span', {}, 'Grain'), grain),
        h('label', { class: 'control' }, h('span', {}, 'From'), start),
        h('label', { class: 'control' }, h('span', {}, 'To'), end),
      ),
      h('section', { class: 'results' }, parts.status, parts.chart, parts.table, h('h2', {}, 'SQL'), parts.sql),
    ),
  );
  chart = new Chart(parts.chart);
}

function pickMetric() {
  state.metrics = [...parts.metricList.querySelectorAll('input:checked')].map((i) => i.value);
  changed({ metricsChanged: true });
}

async function changed({ metricsChanged = false } = {}) {
  if (metricsChanged) await loadDimensions();
  writeUrl();
  await run();
}

/** Only the dimensions every chosen metric reaches can be picked; others are dropped. */
async function loadDimensions() {
  try {
    reachable = (await gql(DIMENSIONS, { metrics: state.metrics })).dimensions;
  } catch (error) {
    reachable = [];
    fill(parts.status, error.message);
  }
  const names = new Set(reachable.map((d) => d.name));
  state.dimensions = state.dimensions.filter((d) => names.has(d));
  state.filters = state.filters.filter((f) => names.has(f.member));
  fill(
    parts.dimensionList,
    reachable.map((d) =>
      h(
        'li',
        {},
        h(
          'label',
          {},
          h('input', { type: 'checkbox', name: 'dimension', value: d.name, checked: state.dimensions.includes(d.name), onchange: pickDimension }),
          ` ${d.label || d.name} `,
          h('code', {}, d.name),
        ),
      ),
    ),
  );
  showFilters();
}

function pickDimension() {
  state.dimensions = [...parts.dimensionList.querySelectorAll('input:checked')].map((i) => i.value);
  changed();
}

function addFilter() {
  const first = reachable.find((d) => d.type !== 'time');
  if (!first) return;
  state.filters.push({ member: first.name, op: 'in', values: [] });
  showFilters();
}

function showFilters() {
  fill(
    parts.filters,
    state.filters.map((f, i) => {
      const member = h('select', { 'aria-label': 'Dimension' }, reachable.filter((d) => d.type !== 'time').map((d) => h('option', { value: d.name }, d.label || d.name)));
      member.value = f.member;
      const op = h('select', { 'aria-label': 'Operator' }, OPS.map((o) => h('option', { value: o }, o.replace('_', ' '))));
      op.value = f.op;
      const values = h('input', { type: 'text', value: f.values.join(','), placeholder: 'values, comma-separated', 'aria-label': 'Values' });
      const update = () => {
        state.filters[i] = { member: member.value, op: op.value, values: values.value.split(',').map((v) => v.trim()).filter(Boolean) };
        changed();
      };
      member.addEventListener('change', update);
      op.addEventListener('change', update);
      values.addEventListener('change', update);
      const remove = h('button', { type: 'button', 'aria-label': 'Remove filter', onclick: () => { state.filters.splice(i, 1); showFilters(); changed(); } }, '✕');
      return h('div', { class: 'filter-row' }, member, op, values, remove);
    }),
  );
}

function typed(member, text) {
  const d = reachable.find((x) => x.name === member);
  if (d && d.type === 'number' && text !== '' && !Number.isNaN(Number(text))) return Number(text);
  if (d && d.type === 'boolean') return text === 'true';
  return text;
}

function query() {
  const types = new Map(reachable.map((d) => [d.name, d.type]));
  const dimensions = state.dimensions.map((d) => (types.get(d) === 'time' ? `${d}:${state.grain}` : d));
  const time = dimensions.find((d) => d.includes(':'));
  const filters = state.filters
    .filter((f) => f.op.startsWith('is_') || f.values.length)
    .map((f) => ({ member: f.member, op: f.op.toUpperCase(), values: f.op.startsWith('is_') ? [] : f.values.map((v) => typed(f.member, v)) }));
  const timeRange = state.start || state.end ? { start: state.start || null, end: state.end || null } : null;
  return { metrics: state.metrics, dimensions, filters, timeRange, orderBy: time ? [{ member: time }] : null, limit: 1000 };
}

async function run() {
  const mine = ++generation;
  if (!state.metrics.length) {
    fill(parts.status, 'Pick one or more metrics.');
    fill(parts.table);
    fill(parts.sql);
    chart.show({});
    document.body.dataset.ready = '1';
    return;
  }
  document.body.dataset.ready = '0';
  fill(parts.status, 'Running…');
  let answer;
  try {
    answer = await runQuery(query(), { sql: true });
  } catch (error) {
    if (mine !== generation) return;
    fill(parts.status, error.message);
    parts.status.dataset.error = error.code;
    document.body.dataset.ready = '1';
    return;
  }
  if (mine !== generation) return;
  delete parts.status.dataset.error;
  fill(parts.status, `${answer.rows.length} row${answer.rows.length === 1 ? '' : 's'}${answer.warnings.length ? ` — ${answer.warnings.join(' ')}` : ''}`);
  showChart(answer);
  showTable(answer);
  fill(parts.sql, answer.sql);
  document.body.dataset.ready = '1';
}

function context() {
  return { metrics: catalogue, dimensions: new Map(reachable.map((d) => [d.name, d])), dark: false };
}

function showChart(answer) {
  const dims = answer.columns.filter((c) => c.kind === 'dimension').map((c) => c.name);
  parts.chart.hidden = !dims.length;
  if (!dims.length) return;
  const time = dims.find((d) => d.includes(':'));
  const ordered = time ? [time, ...dims.filter((d) => d !== time)] : dims;
  const tile = { metrics: state.metrics, dimensions: ordered.slice(0, state.metrics.length > 1 ? 1 : 2) };
  chart.show(time ? lineOption(answer, tile, context()) : barOption(answer, tile, context()).option);
}

function showTable(answer) {
  const ctx = context();
  const head = answer.columns.map((c) => h('th', { class: c.kind, scope: 'col' }, c.kind === 'metric' ? (ctx.metrics.get(c.name) || {}).label || c.name : ((ctx.dimensions.get(c.name.split(':')[0]) || {}).label || c.name)));
  const rows = answer.rows.map((row) =>
    h(
      'tr',
      {},
      answer.columns.map((c) =>
        c.kind === 'metric'
          ? h('td', { class: 'num', dataset: { value: row[c.name] ?? '' } }, formatValue(row[c.name], (ctx.metrics.get(c.name) || {}).format))
          : h('td', {}, formatMember(row[c.name], c, grainOf(c.name))),
      ),
    ),
  );
  fill(parts.table, h('table', {}, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows)));
}

function writeUrl() {
  const out = new URLSearchParams();
  for (const m of state.metrics) out.append('m', m);
  for (const d of state.dimensions) out.append('d', d);
  for (const f of state.filters) out.append('f', `${f.member}|${f.op}|${f.values.join(',')}`);
  out.set('grain', state.grain);
  if (state.start) out.set('start', state.start);
  if (state.end) out.set('end', state.end);
  history.replaceState(history.state, '', `${location.pathname}?${out.toString()}`);
}
