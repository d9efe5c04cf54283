// /dashboards/<name>: a dashboard's tiles, its filters and time range, drill-down, the alerts panel,
// and the wall-screen mode (?screen=1: full screen, dark, refreshed every screen_refresh seconds
// in place — the same tiles and charts redrawn, the page never reloaded).
//
// The page's state lives in its URL, so a view can be shared: ?last=6 months or ?start=&end=,
// f=<dimension>:<value> for each filter control, drill=<tile>:<dimension>:<value> for each
// drill-down (a click on a bar, a heatmap cell or a table row).

import { ALERTS, gql, runQuery } from './api.js';
import { dimensionLabel } from './charts.js';
import { fill, h } from './dom.js';
import { formatMember, formatValue, periodLabel } from './format.js';
import { setUpAccount, showProblem } from './shell.js';
import { makeTile } from './tiles.js';

const PAGE = `query Page($name: String!, $last: String, $start: String, $end: String) {
  dashboard(name: $name) {
    name title description owner grain screenRefresh hiddenTiles
    timeRange { last start end }
    range(last: $last, start: $start, end: $end) { start end }
    filters { name label type }
    dimensions { name label type }
    metrics { name label format direction thresholds }
    tiles { kind title metrics dimensions grain compare limit timeRange reaches }
  }
  catalogue: metrics { name label format }
}`;
const PRESETS = ['3 months', '6 months', '12 months', '24 months'];

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const screen = params.get('screen') === '1';
const name = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop());
let view = null;
let timer = null;

if (screen) document.body.classList.add('screen');
setUpAccount(() => load());
load();

async function load() {
  clearTimeout(timer);
  let data;
  try {
    data = await gql(PAGE, { name, ...rangeAsked() });
  } catch (error) {
    view = dispose(view);
    showProblem(main, error);
    return schedule(60);
  }
  if (!data.dashboard) {
    view = dispose(view);
    showProblem(main, { message: `There is no dashboard named '${name}'.` });
    return null;
  }
  const definition = JSON.stringify({ ...data.dashboard, range: null });
  if (!view || view.definition !== definition) {
    dispose(view);
    view = new DashboardView(data.dashboard, data.catalogue, definition);
    fill(main, view.el);
  }
  view.state.range = data.dashboard.range;
  await view.refresh();
  return schedule(Number(params.get('refresh')) || data.dashboard.screenRefresh);
}

function schedule(seconds) {
  if (screen) timer = setTimeout(load, seconds * 1000);
}

function dispose(old) {
  if (old) old.dispose();
  return null;
}

function rangeAsked() {
  const asked = { last: params.get('last'), start: params.get('start'), end: params.get('end') };
  return asked.last || asked.start || asked.end ? asked : {};
}

class DashboardView {
  constructor(board, catalogue, definition) {
    this.board = board;
    this.definition = definition;
    this.ctx = {
      metrics: new Map([...catalogue, ...board.metrics].map((m) => [m.name, m])),
      dimensions: new Map(board.dimensions.map((d) => [d.name, d])),
      dark: screen,
    };
    this.state = { range: board.range, filters: filtersFromUrl(board) };
    this.tiles = board.tiles.map((spec, i) => makeTile(spec, i, this));
    this.alerts = h('ul', { class: 'alert-list' });
    this.chips = h('div', { class: 'chips' });
    this.el = h(
      'div',
      { class: 'dashboard', dataset: { name: board.name } },
      h(
        'div',
        { class: 'heading' },
        h('h1', {}, board.title),
        board.owner ? h('span', { class: 'owner' }, `owner: ${board.owner}`) : null,
        board.description ? h('p', { class: 'description' }, board.description) : null,
      ),
      h('div', { class: 'controls' }, this.rangeControl(), board.filters.map((f) => this.filterControl(f)), this.chips),
      h('section', { class: 'alerts', 'aria-label': 'Alerts' }, h('h2', {}, 'Alerts'), this.alerts),
      board.hiddenTiles ? h('p', { class: 'note' }, `${board.hiddenTiles} tile(s) show data your role may not see and are left out.`) : null,
      h('div', { class: 'grid' }, this.tiles.map((t) => t.el)),
    );
    this.showChips();
  }

  /** Ask every tile's queries and the alerts in parallel; mark the moment the last tile painted. */
  async refresh() {
    document.body.dataset.ready = '0';
    await Promise.all([...this.tiles.map((t) => t.refresh(this.state)), this.refreshAlerts()]);
    await nextPaint();
    performance.mark('dashboard-painted');
    document.body.dataset.ready = '1';
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  }

  async refreshTiles() {
    document.body.dataset.ready = '0';
    await Promise.all(this.tiles.map((t) => t.refresh(this.state)));
    await nextPaint();
    document.body.dataset.ready = '1';
  }

  async refreshAlerts() {
    const timeRange = this.state.range.end ? { end: this.state.range.end } : null;
    try {
      const data = await gql(ALERTS, { timeRange });
      const raised = data.alerts.filter((a) => a.level !== 'ok');
      fill(this.alerts, raised.length ? raised.map((a) => this.alertItem(a)) : h('li', { class: 'none' }, 'No metric is at warn or critical.'));
    } catch (error) {
      fill(this.alerts, h('li', { class: 'error' }, error.message));
    }
  }

  alertItem(alert) {
    const metric = this.ctx.metrics.get(alert.metric) || {};
    const bound = alert.bound === null ? '' : ` (${alert.boundKind} ${formatValue(alert.bound, metric.format)})`;
    return h(
      'li',
      { class: `level-${alert.level}`, dataset: { metric: alert.metric, level: alert.level }, title: [alert.message, alert.note].filter(Boolean).join('\n') },
      h('span', { class: 'level' }, alert.level),
      h('strong', {}, metric.label || alert.metric),
      ` ${formatValue(alert.value, metric.format)} · ${periodLabel(alert.period, alert.grain)}${bound}`,
    );
  }

  rangeControl() {
    const written = this.board.timeRange;
    const select = h(
      'select',
      { name: 'range', 'aria-label': 'Time range' },
      h('option', { value: '' }, written ? `default (${describe(written)})` : 'all time'),
      PRESETS.map((p) => h('option', { value: `last:${p}` }, `last ${p}`)),
      h('option', { value: 'custom' }, 'custom…'),
    );
    const start = h('input', { type: 'date', name: 'start', 'aria-label': 'From' });
    const end = h('input', { type: 'date', name: 'end', 'aria-label': 'To (exclusive)' });
    const custom = h('span', { class: 'custom-range' }, start, ' – ', end);
    const asked = rangeAsked();
    if (asked.last && !asked.start) select.value = `last:${asked.last}`;
    else if (asked.start || asked.end) select.value = 'custom';
    start.value = (asked.start || this.state.range.start || '').slice(0, 10);
    end.value = (asked.end || this.state.range.end || '').slice(0, 10);
    custom.hidden = select.value !== 'custom';
    const apply = () => {
      custom.hidden = select.value !== 'custom';
      for (const key of ['last', 'start', 'end']) params.delete(key);
      if (select.value.startsWith('last:')) {
        params.set('last', select.value.slice(5));
        if (written && written.end) params.set('end', written.end); // a pinned end stays pinned
      } else if (select.value === 'custom') {
        if (start.value) params.set('start', start.value);
        if (end.value) params.set('end', end.value);
      }
      writeUrl();
      load();
    };
    select.addEventListener('change', apply);
    start.addEventListener('change', apply);
    end.addEventListener('change', apply);
    return h('label', { class: 'control' }, h('span', {}, 'Time'), select, custom);
  }

  filterControl(dimension) {
    const select = h('select', { name: dimension.name, 'aria-label': dimension.label || dimension.name }, h('option', { value: '' }, 'all'));
    const current = this.state.filters.find((f) => f.source === null && f.member === dimension.name);
    const values = [];
    runQuery({ metrics: [], dimensions: [dimension.name], orderBy: [{ member: dimension.name }], limit: 1000 })
      .then((answer) => {
        for (const row of answer.rows) {
          const value = row[dimension.name];
          values.push(value);
          select.append(h('option', { value: String(values.length - 1) }, formatMember(value, answer.columns[0])));
        }
        if (current) {
          const at = values.findIndex((v) => String(v) === String(current.values[0]));
          if (at >= 0) select.value = String(at);
        }
      })
      .catch((error) => select.append(h('option', { disabled: true }, error.message)));
    select.addEventListener('change', () => {
      this.state.filters = this.state.filters.filter((f) => !(f.source === null && f.member === dimension.name));
      if (select.value !== '') {
        this.state.filters.push({ member: dimension.name, values: [values[Number(select.value)]], source: null });
      }
      this.changed();
    });
    return h('label', { class: 'control' }, h('span', {}, dimension.label || dimension.name), select);
  }

  /** A click on a tile: filter the other tiles by `picks` ([{member, value}]); the same click again
   *  clears it. */
  drill(source, picks) {
    const mine = this.state.filters.filter((f) => f.source === source);
    const same = mine.length === picks.length && picks.every((p) => mine.some((f) => f.member === p.member && String(f.values[0]) === String(p.value)));
    this.state.filters = this.state.filters.filter((f) => f.source !== source);
    if (!same) this.state.filters.push(...picks.map((p) => ({ member: p.member, values: [p.value], source })));
    this.changed();
  }

  changed() {
    writeFilters(this.state.filters);
    this.showChips();
    this.refreshTiles();
  }

  showChips() {
    const drills = this.state.filters.filter((f) => f.source !== null);
    fill(
      this.chips,
      drills.map((f) =>
        h(
          'button',
          { type: 'button', class: 'chip', title: 'Remove this drill-down', onclick: () => this.removeDrill(f) },
          `${dimensionLabel(this.ctx, f.member)} = ${formatMember(f.values[0], null)} ✕`,
        ),
      ),
    );
  }

  removeDrill(filter) {
    this.state.filters = this.state.filters.filter((f) => f !== filter);
    this.changed();
  }

  dispose() {
    for (const tile of this.tiles) tile.dispose();
  }
}

function describe(range) {
  if (range.last) return `last ${range.last}${range.end ? ` to ${range.end}` : ''}`;
  return `${range.start || '…'} – ${range.end || '…'}`;
}

/** Filters written in the URL, typed by their dimension (a number stays a number). */
function filtersFromUrl(board) {
  const types = new Map(board.dimensions.map((d) => [d.name, d.type]));
  const typed = (member, text) => {
    const type = types.get(member);
    if (type === 'number') return Number(text);
    if (type === 'boolean') return text === 'true';
    return text;
  };
  const out = [];
  for (const item of params.getAll('f')) {
    const at = item.indexOf(':');
    if (at > 0) out.push({ member: item.slice(0, at), values: [typed(item.slice(0, at), item.slice(at + 1))], source: null });
  }
  for (const item of params.getAll('drill')) {
    const m = /^(\d+):([^:]+):(.*)$/s.exec(item);
    if (m) out.push({ member: m[2], values: [typed(m[2], m[3])], source: Number(m[1]) });
  }
  return out;
}

function writeFilters(filters) {
  params.delete('f');
  params.delete('drill');
  for (const f of filters) {
    if (f.source === null) params.append('f', `${f.member}:${f.values[0]}`);
    else params.append('drill', `${f.source}:${f.member}:${f.values[0]}`);
  }
  writeUrl();
}

function writeUrl() {
  const query = params.toString();
  history.replaceState(history.state, '', location.pathname + (query ? `?${query}` : '') + location.hash);
}

function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}
