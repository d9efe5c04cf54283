// /catalog: every metric the caller may see, by tier, with its definition, owner, status,
// thresholds, synonyms and lineage (what it is computed from and reads, what is computed from it,
// which dashboards show it). The search box looks in names, labels, definitions, synonyms, tags and
// owners, in any language (?q= keeps the search in the URL).

import { gql } from './api.js';
import { fill, h } from './dom.js';
import { thresholdsText } from './format.js';
import { setUpAccount, showProblem } from './shell.js';

const DOC = `{
  metrics(includeDeprecated: true) {
    name label description type owner tier status replacedBy format direction tags synonyms thresholds
    dependsOn usedBy models
  }
  dashboards { name title tiles { metrics } }
}`;
const TIERS = [
  ['strategic', 'Strategic · 战略层'],
  ['tactical', 'Tactical · 战术层'],
  ['operational', 'Operational · 执行层'],
  [null, 'Other metrics'],
];
const main = document.getElementById('main');
const params = new URLSearchParams(location.search);

setUpAccount(() => load());
load();

async function load() {
  let data;
  try {
    data = await gql(DOC);
  } catch (error) {
    showProblem(main, error);
    return;
  }
  const shownOn = new Map();
  for (const board of data.dashboards) {
    for (const metric of new Set(board.tiles.flatMap((t) => t.metrics))) {
      if (!shownOn.has(metric)) shownOn.set(metric, []);
      shownOn.get(metric).push(board);
    }
  }
  const labels = new Map(data.metrics.map((m) => [m.name, m.label || m.name]));
  const cards = data.metrics.map((m) => ({ metric: m, el: card(m, labels, shownOn.get(m.name) || []), text: haystack(m) }));
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Search: revenue, 流失, churn, owner…', 'aria-label': 'Search metrics' });
  const count = h('span', { class: 'count' });
  const sections = TIERS.map(([tier, title]) => {
    const mine = cards.filter((c) => (c.metric.tier || null) === tier);
    const section = h('section', { class: 'tier', dataset: { tier: tier || 'none' } }, h('h2', {}, title), mine.map((c) => c.el));
    return { section, mine };
  }).filter((s) => s.mine.length);
  const apply = () => {
    const needle = search.value.trim().toLocaleLowerCase();
    let shown = 0;
    for (const c of cards) {
      c.el.hidden = Boolean(needle) && !c.text.includes(needle);
      if (!c.el.hidden) shown += 1;
    }
    for (const s of sections) s.section.hidden = s.mine.every((c) => c.el.hidden);
    fill(count, `${shown} of ${cards.length} metrics`);
    if (needle) params.set('q', search.value.trim());
    else params.delete('q');
    const query = params.toString();
    history.replaceState(history.state, '', location.pathname + (query ? `?${query}` : '') + location.hash);
  };
  search.value = params.get('q') || '';
  search.addEventListener('input', apply);
  fill(main, h('div', { class: 'catalog' }, h('h1', {}, 'Metric catalogue'), h('div', { class: 'search' }, search, count), sections.map((s) => s.section)));
  apply();
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
  document.body.dataset.ready = '1';
}

function haystack(m) {
  return [m.name, m.label, m.description, m.owner, ...m.synonyms, ...m.tags].filter(Boolean).join('\n').toLocaleLowerCase();
}

function links(names, labels) {
  if (!names.length) return '—';
  return names.flatMap((n, i) => [i ? ', ' : '', h('a', { href: `#metric-${n}` }, labels.get(n) || n)]);
}

function card(m, labels, boards) {
  const facts = [
    ['Type', m.type],
    ['Owner', m.owner || '—'],
    ['Status', m.replacedBy ? `${m.status} (use ${m.replacedBy})` : m.status],
    ['Format', m.format || 'number'],
    ['Thresholds', m.thresholds ? thresholdsText(m.thresholds, m.format) : '—'],
    ['Synonyms', m.synonyms.length ? m.synonyms.join(', ') : '—'],
    ['Reads models', m.models.join(', ') || '—'],
    ['Computed from', links(m.dependsOn, labels)],
    ['Used by', links(m.usedBy, labels)],
    [
      'On dashboards',
      boards.length
        ? boards.flatMap((b, i) => [i ? ', ' : '', h('a', { href: `/dashboards/${encodeURIComponent(b.name)}` }, b.title)])
        : '—',
    ],
  ];
  return h(
    'article',
    { class: `metric-card status-${m.status}`, id: `metric-${m.name}`, dataset: { name: m.name } },
    h('h3', {}, m.label || m.name, ' ', h('code', {}, m.name), m.status !== 'active' ? h('span', { class: 'badge' }, m.status) : null),
    m.description ? h('p', { class: 'definition' }, m.description) : null,
    h('dl', {}, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
    h('a', { class: 'explore-link', href: `/explore?m=${encodeURIComponent(m.name)}&d=metric_time&grain=${(m.thresholds && m.thresholds.grain) || 'month'}` }, 'Explore →'),
  );
}
