import { getToken, getTokenState, onTokenState, setToken } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { activityView } from './views/activity.js';
import { artifactView } from './views/artifact.js';
import { searchView } from './views/search.js';

/**
 * Hash routes, so the service serves one page and links stay shareable:
 * `#/`, `#/search?q=…`, `#/artifact/<digest>`, `#/activity`.
 */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
/** @type {() => void} */
let leave = () => {};
let generation = 0;

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  const params = new URLSearchParams(search);
  if (path.startsWith('/artifact/'))
    return { name: 'artifact', digest: decodeURIComponent(path.slice(10)), ref: params.get('ref') ?? '' };
  if (path === '/activity') return { name: 'activity' };
  return { name: 'search', q: params.get('q') ?? '' };
}

/** @param {boolean} [navigated] a link or the back button: move focus to the new heading */
async function render(navigated = false) {
  leave();
  leave = () => {};
  const mine = ++generation;
  const r = route();
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.getAttribute('data-nav') === (r.name === 'activity' ? 'activity' : 'search'))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.setAttribute('aria-busy', 'true');
  try {
    /** @type {(() => void) | void} */
    let stop = undefined;
    if (r.name === 'artifact' && r.digest) {
      replace(main, h('p', { class: 'muted' }, 'Loading…'));
      stop = await artifactView(main, r.digest, r.ref ?? '');
    } else if (r.name === 'activity') stop = await activityView(main);
    else await searchView(main, r.q ?? '');
    if (mine !== generation) stop?.();
    else if (stop) leave = stop;
  } catch (err) {
    if (mine === generation) replace(main, h('h1', { tabindex: -1 }, 'Something went wrong'), errorBox(err));
  } finally {
    if (mine === generation) {
      main.removeAttribute('aria-busy');
      const title = main.querySelector('h1');
      document.title = `${title?.textContent ?? 'Explorer'} — refgraph`;
      if (navigated) title?.focus();
    }
  }
}

function tokenDialog() {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const button = /** @type {HTMLButtonElement} */ (document.getElementById('token-button'));
  /** What the button says follows the server's last answer, not merely whether a token is stored. */
  /** @type {Record<import('./api.js').TokenState, [string, string]>} */
  const STATES = {
    none: ['API token', 'API token (not set)'],
    unchecked: ['API token …', 'API token (set, not checked yet)'],
    accepted: ['API token ✓', 'API token (accepted)'],
    rejected: ['API token ✗ rejected', 'API token (rejected by the server: set another)'],
    required: ['API token needed', 'API token (the server requires one)'],
  };
  const label = () => {
    const state = getTokenState();
    const [text, aria] = STATES[state];
    button.textContent = text;
    button.dataset.state = state;
    button.setAttribute('aria-label', aria);
  };
  label();
  onTokenState(label);
  button.addEventListener('click', () => {
    input.value = getToken();
    dialog.showModal();
    input.focus();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') setToken(input.value.trim());
    if (dialog.returnValue === 'clear') setToken('');
    input.value = '';
    label();
    button.focus();
    if (dialog.returnValue === 'save' || dialog.returnValue === 'clear') void render();
  });
}

tokenDialog();
window.addEventListener('hashchange', () => void render(true));
void render();
