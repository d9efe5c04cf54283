// /: the project's dashboards, and links to the catalogue and the explorer.

import { gql } from './api.js';
import { fill, h } from './dom.js';
import { setUpAccount, showProblem } from './shell.js';

const LIST = `{ dashboards { name title description owner hiddenTiles tiles { kind } } }`;
const main = document.getElementById('main');

setUpAccount(() => load());
load();

async function load() {
  let data;
  try {
    data = await gql(LIST);
  } catch (error) {
    showProblem(main, error);
    return;
  }
  const missing = document.body.dataset.missing;
  fill(
    main,
    missing ? h('p', { class: 'problem' }, `There is no dashboard named '${missing}'.`) : null,
    h('h1', {}, 'Dashboards'),
    data.dashboards.length
      ? h('ul', { class: 'cards' }, data.dashboards.map(card))
      : h('p', {}, "This project defines no dashboards yet: add a 'dashboards:' list to a project file."),
    h(
      'p',
      { class: 'more' },
      h('a', { href: '/catalog' }, 'The metric catalogue'),
      ' · ',
      h('a', { href: '/explore' }, 'Explore metrics'),
    ),
  );
  document.body.dataset.ready = '1';
}

function card(board) {
  const kinds = board.tiles.length;
  return h(
    'li',
    { class: 'card', dataset: { name: board.name } },
    h('a', { href: `/dashboards/${encodeURIComponent(board.name)}` }, h('h2', {}, board.title)),
    h('p', { class: 'meta' }, board.name, board.owner ? ` · owner: ${board.owner}` : '', ` · ${kinds} tile${kinds === 1 ? '' : 's'}`),
    board.description ? h('p', {}, board.description) : null,
    h('a', { class: 'screen-link', href: `/dashboards/${encodeURIComponent(board.name)}?screen=1` }, 'wall screen'),
  );
}
