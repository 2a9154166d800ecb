import { rest } from '../api.js';
import { digestWithCopy, errorBox, h, relativeTime, replace, table } from '../dom.js';
import { statusBadge } from './badges.js';

/**
 * @typedef {{ name: string; kind: string; url: string; lastEventAt: string | null; repositories: number; failedEvents: number }} Registry
 * @typedef {{ id: number; action: string; repository: string; digest: string | null; tag: string | null;
 *   eventAt: string; status: string; attempts: number; lastError: string | null }} InboxEvent
 */

/**
 * What the event named: the repository and tag; the digest has its own column. A referrers
 * tag-schema tag (`sha256-<hex>`) is shown short, as what it is.
 * @param {InboxEvent} e
 */
function target(e) {
  const schema = e.tag && /^(sha256|sha512)-([a-f0-9]{12})[a-f0-9]+$/.exec(e.tag);
  if (schema)
    return h(
      'span',
      { class: 'mono', title: `${e.repository}:${e.tag}` },
      `${e.repository}:${schema[1]}-${schema[2]}…`,
      h('span', { class: 'muted small' }, ' (list of referrers)'),
    );
  return h('span', { class: 'mono' }, `${e.repository}${e.tag ? `:${e.tag}` : ''}`);
}

/** @param {InboxEvent} e */
function digestCell(e) {
  return h(
    'td',
    { class: 'nowrap' },
    e.digest ? digestWithCopy(e.digest) : h('span', { class: 'muted' }, '—'),
  );
}

/**
 * Ingestion activity. GraphQL has no activity fields, so this view reads the REST endpoints
 * `/api/v1/registries` (read scope) and `/api/v1/events` (admin scope).
 * @param {HTMLElement} main
 */
export async function activityView(main) {
  const regs = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const recent = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const failing = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  replace(
    main,
    h('h1', { tabindex: -1 }, 'Activity'),
    h('section', { class: 'card', 'aria-labelledby': 'reg-h' }, h('h2', { id: 'reg-h' }, 'Registries'), regs),
    // Full width each: the tables have five columns, and an empty list is one line.
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'fail-h' },
      h('h2', { id: 'fail-h' }, 'Failing ingestions'),
      failing,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'recent-h' },
      h('h2', { id: 'recent-h' }, 'Recent ingestions'),
      recent,
    ),
  );
  const registries = rest('/api/v1/registries').then(
    (/** @type {{ registries: Registry[] }} */ body) =>
      replace(
        regs,
        table(
          'Registries',
          ['Registry', 'Kind', 'Last event', 'Repositories', 'Failed events'],
          body.registries.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, h('strong', {}, r.name), h('div', { class: 'muted small' }, r.url)),
              h('td', {}, r.kind),
              h('td', { class: 'nowrap' }, relativeTime(r.lastEventAt)),
              h('td', {}, r.repositories),
              h('td', { class: r.failedEvents ? 'error' : '' }, r.failedEvents),
            ),
          ),
          'No registry is configured.',
        ),
      ),
    (/** @type {unknown} */ err) => replace(regs, errorBox(err)),
  );
  const events = Promise.all([
    rest('/api/v1/events?first=20'),
    rest('/api/v1/events?status=failed&first=20'),
  ]).then(
    (/** @type {[{ events: InboxEvent[] }, { events: InboxEvent[] }]} */ [all, failed]) => {
      const retrying = all.events.filter((e) => e.status === 'pending' && e.lastError);
      replace(
        failing,
        table(
          'Failing ingestions',
          ['Event', 'Digest', 'Status', 'When', 'Attempts', 'Error'],
          [...retrying, ...failed.events].map((e) =>
            h(
              'tr',
              {},
              h('td', {}, target(e), h('div', { class: 'muted small' }, e.action)),
              digestCell(e),
              h('td', { class: 'nowrap' }, statusBadge(e.status === 'pending' ? 'pending' : 'failed')),
              h('td', { class: 'nowrap' }, relativeTime(e.eventAt)),
              h('td', {}, e.attempts),
              h('td', { class: 'error' }, e.lastError ?? '—'),
            ),
          ),
          'Nothing is failing.',
        ),
      );
      replace(
        recent,
        table(
          'Recent ingestions',
          ['Event', 'Action', 'Digest', 'Status', 'When'],
          all.events.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, target(e)),
              h('td', {}, e.action),
              digestCell(e),
              h('td', { class: 'nowrap' }, statusBadge(e.status)),
              h('td', { class: 'nowrap' }, relativeTime(e.eventAt)),
            ),
          ),
          'No webhook events yet.',
        ),
      );
    },
    (/** @type {unknown} */ err) => {
      const note = h('p', { class: 'muted' }, 'Ingestion history needs a token with the admin scope.');
      replace(failing, errorBox(err), note);
      replace(recent, note.cloneNode(true));
    },
  );
  await Promise.all([registries, events]);
  return () => {};
}
