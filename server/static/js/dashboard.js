// /dashboards/<name>: a dashboard's tiles, its filters and time range, drill-down, the alerts panel,
// and the wall-screen mode (?screen=1: full screen, dark, refreshed every screen_refresh seconds
// in place — the same tiles and charts redrawn, the page never reloaded).
//
// The page's state lives in its URL, so a view can be shared: ?last=6 months or ?start=&end=,
// f=<dimension>:<value> for each filter control, drill=<tile>:<dimension>:<value> for each
// drill-down (a click on a bar, a heatmap cell or a table row).

import { ALERTS, gql, runQuery, setDashboard } from './api.js';
import { fill, h } from './dom.js';
import { dimensionLabel, formatMember, formatValue, periodLabel } from './format.js';
import { ask } from './questions.js';
import { setUpAccount, showProblem } from './shell.js';

// The tiles bring ECharts, the largest script by far: it is imported once the tiles' questions are
// out, so that it compiles while the server answers them, and holds nothing up before.
let tiles = null;

const PAGE = `query Page($name: String!, $last: String, $start: String, $end: String) {
  dashboard(name: $name) {
    name title description owner grain screenRefresh hiddenTiles
    timeRange { last start end }
    range(last: $last, start: $start, end: $end) { start end }
    filters { name label type }
    dimensions { name label type }
    metrics { name label format direction thresholds }
    tiles { kind title metrics dimensions grain compare limit timeRange range { start end } reaches }
  }
  catalogue: metrics { name label format }
}`;
const PRESETS = ['3 months', '6 months', '12 months', '24 months'];

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const screen = params.get('screen') === '1';
const name = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop());
setDashboard(name);
let view = null;
let timer = null;

if (screen) {
  document.body.classList.add('screen');
  // A double click takes the whole display, and another gives it back.
  document.addEventListener('dblclick', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
}
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
  const board = data.dashboard;
  if (!board) {
    view = dispose(view);
    showProblem(main, { message: `There is no dashboard named '${name}'.` });
    return null;
  }
  const definition = JSON.stringify({ ...board, range: null });
  const same = view && view.definition === definition;
  const state = same ? view.state : { filters: filtersFromUrl(board) };
  state.range = board.range;
  // Every tile's questions and the alerts go now, in parallel, while ECharts may still be loading.
  const asked = board.tiles.map((spec, i) => quietly(ask(spec, i, state)));
  const alerts = quietly(askAlerts(state.range));
  if (!same) {
    let makeTile;
    try {
      tiles = tiles || import('./tiles.js');
      ({ makeTile } = await tiles);
    } catch (error) {
      showProblem(main, { message: `The page's scripts did not load: ${error.message}` });
      return null;
    }
    dispose(view);
    view = new DashboardView(board, data.catalogue, definition, makeTile, state);
    fill(main, view.el);
  }
  await view.refresh(asked, alerts);
  view.loadFilterValues(); // after the tiles: the controls' values are not on the way to the first paint
  return schedule(Number(params.get('refresh')) || board.screenRefresh);
}

/** The promise, with its failure left to whoever awaits it later (not reported as unhandled now). */
function quietly(promise) {
  promise.catch(() => {});
  return promise;
}

function askAlerts(range) {
  return gql(ALERTS, { timeRange: range.end ? { end: range.end } : null });
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
  constructor(board, catalogue, definition, makeTile, state) {
    this.board = board;
    this.definition = definition;
    this.ctx = {
      metrics: new Map([...catalogue, ...board.metrics].map((m) => [m.name, m])),
      dimensions: new Map(board.dimensions.map((d) => [d.name, d])),
      dark: screen,
    };
    this.state = state;
    this.valueLoaders = [];
    this.valuesLoaded = new Set();
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

  /** Draw every tile and the alerts from the answers asked for (`asked`: one promise per tile), or
   *  ask again; mark the moment the last tile painted. */
  async refresh(asked = null, alerts = null) {
    document.body.dataset.ready = '0';
    if (document.body.dataset.refreshes) {
      // Each refresh keeps only its own timings: a wall screen must not pile up entries for days.
      performance.clearMarks('dashboard-painted');
      performance.clearResourceTimings();
    }
    await Promise.all([...this.tiles.map((t, i) => t.refresh(this.state, asked && asked[i])), this.refreshAlerts(alerts)]);
    await nextPaint();
    performance.mark('dashboard-painted'); // read by bench/dashboards.py: navigation to last tile painted
    document.body.dataset.ready = '1';
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  }

  async refreshTiles() {
    document.body.dataset.ready = '0';
    await Promise.all(this.tiles.map((t) => t.refresh(this.state)));
    await nextPaint();
    document.body.dataset.ready = '1';
  }

  async refreshAlerts(asked = null) {
    try {
      const data = await (asked || askAlerts(this.state.range));
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
    if (current) {
      // Until the values come, the filter in the URL shows as chosen.
      values.push(current.values[0]);
      select.append(h('option', { value: '0' }, formatMember(current.values[0], null)));
      select.value = '0';
    }
    this.valueLoaders.push(async () => {
      if (this.valuesLoaded.has(dimension.name)) return;
      this.valuesLoaded.add(dimension.name);
      try {
        const answer = await runQuery({ metrics: [], dimensions: [dimension.name], orderBy: [{ member: dimension.name }], limit: 1000 });
        const chosen = select.value === '' ? null : values[Number(select.value)];
        values.length = 0;
        fill(select, h('option', { value: '' }, 'all'));
        for (const row of answer.rows) {
          values.push(row[dimension.name]);
          select.append(h('option', { value: String(values.length - 1) }, formatMember(row[dimension.name], answer.columns[0])));
        }
        const at = chosen === null ? -1 : values.findIndex((v) => String(v) === String(chosen));
        select.value = at >= 0 ? String(at) : '';
      } catch (error) {
        select.append(h('option', { disabled: true }, error.message));
      }
      select.dataset.loaded = '1';
    });
    select.addEventListener('change', () => {
      this.state.filters = this.state.filters.filter((f) => !(f.source === null && f.member === dimension.name));
      if (select.value !== '') {
        this.state.filters.push({ member: dimension.name, values: [values[Number(select.value)]], source: null });
      }
      this.changed();
    });
    return h('label', { class: 'control' }, h('span', {}, dimension.label || dimension.name), select);
  }

  /** Fill the filter controls with the dimensions' values (once per view). */
  loadFilterValues() {
    for (const load of this.valueLoaders) load();
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

/** Resolves once the frame holding what was just drawn has been painted: the charts draw in an
 *  animation frame callback registered before this one, and the task after it runs past the paint. */
function nextPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
