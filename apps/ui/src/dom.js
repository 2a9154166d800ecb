/**
 * A small element builder: every text goes through text nodes (never innerHTML), so names,
 * annotations and error messages from the graph cannot inject markup.
 */

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>} Attrs */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Array<Child | Child[]>} children
 */
export function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** `sha256:0123456789ab…` */
/** @param {string} digest */
export function shortDigest(digest) {
  const [alg, hex = ''] = digest.split(':');
  return `${alg}:${hex.slice(0, 12)}…`;
}

/** A digest shown short, with the full value for copying and assistive technology. */
/** @param {string} digest */
export function digestLink(digest) {
  return h('a', { href: `#/artifact/${digest}`, class: 'digest', title: digest }, shortDigest(digest));
}

/** @param {string | null | undefined} iso */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const d = new Date(iso);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString());
}

const UNITS = /** @type {Array<[Intl.RelativeTimeFormatUnit, number]>} */ ([
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]);

/** "3 minutes ago", with the exact time as the title (and in `datetime`). */
/** @param {string | null | undefined} iso @param {number} [now] */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const d = new Date(iso);
  const seconds = Math.round((d.getTime() - now) / 1000);
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) ?? ['second', 1];
  const text =
    Math.abs(seconds) < 10
      ? 'just now'
      : new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(Math.round(seconds / size), unit);
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, text);
}

/** @param {number | null | undefined} n */
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A button that copies `text` to the clipboard and says so; `what` names it for screen readers
 * ("Copy digest").
 * @param {string} text @param {string} what
 */
export function copyButton(text, what) {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'copy ghost',
      'aria-label': `Copy ${what}`,
      title: `Copy ${what}`,
      'data-copy': text,
      onclick: () => {
        const done = () => {
          button.textContent = 'Copied';
          announce(`Copied ${what}.`);
          window.setTimeout(() => (button.textContent = 'Copy'), 1500);
        };
        if (!navigator.clipboard)
          return announce(`Copying needs a secure (https) page; select the ${what} instead.`);
        navigator.clipboard.writeText(text).then(done, () => announce(`Could not copy the ${what}.`));
      },
    },
    'Copy',
  );
  return button;
}

/** A short digest linking to its artifact, with a copy button for the full value. */
/** @param {string} digest */
export function digestWithCopy(digest) {
  return h('span', { class: 'digest-copy' }, digestLink(digest), copyButton(digest, 'digest'));
}

/** A table inside a scroll container, so wide columns never break the page on a phone. */
/**
 * @param {string} caption
 * @param {string[]} headers
 * @param {HTMLTableRowElement[]} rows
 * @param {string} [empty]
 */
export function table(caption, headers, rows, empty = 'Nothing yet.') {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

/** @param {string} message */
export function announce(message) {
  const el = document.getElementById('announcer');
  if (el) el.textContent = message;
}

/** @param {unknown} err */
export function errorBox(err) {
  const message = err instanceof Error ? err.message : String(err);
  return h('p', { class: 'error', role: 'alert' }, message);
}
