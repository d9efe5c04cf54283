// What every page shares: the token form in the header, and messages in the main area.

import { getToken, onAuthProblem, setToken } from './api.js';
import { fill, h } from './dom.js';

/**
 * Set up the header's account area. `reload` is called after the token changes: the page asks
 * its questions again with the new token.
 */
export function setUpAccount(reload) {
  const area = document.getElementById('account');
  const render = (problem) => {
    const token = getToken();
    const form = h(
      'form',
      { class: 'token-form', hidden: !problem && true },
      h('label', { for: 'token-input' }, problem ? `${problem.message} — ` : '', 'Token'),
      h('input', { id: 'token-input', name: 'token', type: 'password', autocomplete: 'off', placeholder: 'paste a token' }),
      h('button', { type: 'submit' }, 'Use'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      setToken(form.elements.token.value);
      render(null);
      reload();
    });
    const toggle = h('button', { type: 'button', class: 'link' }, token ? 'Change token' : 'Use a token');
    toggle.addEventListener('click', () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.elements.token.focus();
    });
    const signOut = token
      ? h('button', { type: 'button', class: 'link', onclick: () => { setToken(null); render(null); reload(); } }, 'Sign out')
      : null;
    fill(area, h('span', { class: 'who' }, token ? 'token set' : 'no token'), toggle, signOut, form);
    if (problem) form.elements.token.focus();
  };
  render(null);
  let shown = null;
  onAuthProblem((error) => {
    if (shown === error.message) return; // many requests fail at once for the same reason
    shown = error.message;
    render(error);
    setTimeout(() => { shown = null; }, 0);
  });
}

/** A message in place of the page's content (an error, or a request for a token). */
export function showProblem(main, error) {
  const needsToken = error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN';
  fill(
    main,
    h(
      'div',
      { class: 'problem', role: 'alert' },
      h('p', {}, error.message),
      needsToken ? h('p', {}, 'Paste a token in the form at the top right (semantic-layer token --role …).') : null,
    ),
  );
}
