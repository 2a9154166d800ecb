import { gql } from '../api.js';
import { digestLink, errorBox, h, replace, table } from '../dom.js';
import { VULNERABILITIES, VULNERABILITY } from '../queries.js';

/** @typedef {import('../queries.js').VexAssessment} VexAssessment */
/** @typedef {import('../queries.js').VexStatement} VexStatement */

/** Ids of the vulnerability databases the search box takes as a vulnerability, not a reference. */
export const VULNERABILITY_ID =
  /^(CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3}|GO-\d{4}-\d{4,}|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d{4})$/i;

/** @type {Record<string, string>} */
const STATUS_WORDS = {
  not_affected: 'Not affected',
  fixed: 'Fixed',
  affected: 'Affected',
  under_investigation: 'Under investigation',
};

/** The effective VEX status as a badge: cleared findings read as done, open ones as failed. @param {VexAssessment} v */
function statusBadge(v) {
  const words = v.status ? (STATUS_WORDS[v.status] ?? v.status) : 'Affected (no VEX)';
  return h('span', { class: `badge ${v.affected ? 'badge-failed' : 'badge-verified'} vex-status` }, words);
}

/** What the winning statement says, and whether it is from a verified source. @param {VexStatement | null} s */
function statementText(s) {
  if (!s) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: 'vex-statement' },
    [s.justification?.replaceAll('_', ' '), s.impactStatement, s.actionStatement]
      .filter(Boolean)
      .join(' — ') || 'No justification given.',
    ' ',
    h(
      'span',
      { class: 'muted small' },
      `(${s.format}${s.author ? `, ${s.author}` : ''}, ${s.verified ? 'verified' : 'not verified'})`,
    ),
  );
}

/** Statements that apply but do not count (unsigned or unverified VEX): listed, never silent. @param {VexStatement[]} list */
function uncounted(list) {
  const n = list.filter((s) => !s.counted).length;
  return n > 0
    ? h('span', { class: 'muted small' }, ` ${n} unverified VEX statement${n > 1 ? 's' : ''} not counted`)
    : '';
}

/**
 * A checkbox that switches between verified-only VEX (default) and every VEX.
 * @param {string} id @param {() => void} onchange
 */
function vexToggle(id, onchange) {
  const box = h('input', { type: 'checkbox', id, onchange });
  return {
    box,
    el: h(
      'p',
      { class: 'inline-form' },
      box,
      ' ',
      h('label', { for: id }, 'Also count unsigned or unverified VEX'),
    ),
    mode: () => (/** @type {HTMLInputElement} */ (box).checked ? 'ANY' : 'VERIFIED'),
  };
}

/**
 * The per-image view: every finding of the reports about the image, with its VEX status and the
 * statement behind it.
 * @param {string} digest
 */
export function vulnerabilitiesSection(digest) {
  const results = h('div', { 'aria-live': 'polite' });
  /** @type {Array<string | null>} */
  let cursors = [null];
  let page = 0;
  const toggle = vexToggle('vex-any', () => {
    cursors = [null];
    page = 0;
    void load();
  });

  async function load() {
    results.setAttribute('aria-busy', 'true');
    try {
      /** @type {{ artifact: { vulnerabilities: import('../queries.js').FindingPage } | null }} */
      const data = await gql(VULNERABILITIES, { digest, vex: toggle.mode(), after: cursors[page] ?? null });
      const found = data.artifact?.vulnerabilities;
      if (!found) return replace(results, h('p', { class: 'muted' }, 'No findings.'));
      if (found.pageInfo.hasNextPage) cursors[page + 1] = found.pageInfo.endCursor;
      const rows = found.edges.map(({ node: f }) =>
        h(
          'tr',
          { class: 'finding', 'data-vulnerability': f.vulnerabilityId },
          h(
            'td',
            {},
            h('a', { href: `#/search?q=${encodeURIComponent(f.vulnerabilityId)}` }, f.vulnerabilityId),
          ),
          h('td', {}, [f.packageName, f.packageVersion].filter(Boolean).join(' ') || '—'),
          h('td', {}, f.severity ?? '—'),
          h('td', {}, f.fixedVersion ?? '—'),
          h('td', {}, statusBadge(f.vex), uncounted(f.statements)),
          h('td', {}, statementText(f.vex.statement)),
        ),
      );
      replace(
        results,
        table(
          'Vulnerability findings',
          ['Vulnerability', 'Package', 'Severity', 'Fixed in', 'VEX status', 'Statement'],
          rows,
          'No vulnerability report lists a finding for this artifact.',
        ),
        (page > 0 || found.pageInfo.hasNextPage) &&
          h(
            'div',
            { class: 'pager' },
            h(
              'button',
              {
                type: 'button',
                class: 'ghost',
                disabled: page === 0,
                onclick: () => ((page -= 1), void load()),
              },
              '← Previous',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'ghost',
                disabled: !found.pageInfo.hasNextPage,
                onclick: () => ((page += 1), void load()),
              },
              'Next →',
            ),
          ),
      );
    } catch (err) {
      replace(results, errorBox(err));
    } finally {
      results.removeAttribute('aria-busy');
    }
  }

  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'vulns-h', id: 'vulnerabilities' },
    h('h2', { id: 'vulns-h' }, 'Vulnerabilities after VEX'),
    h(
      'p',
      { class: 'muted small' },
      'Findings of the scanner reports about this artifact. Only VEX from a verified signed attestation counts unless you ask otherwise.',
    ),
    toggle.el,
    results,
  );
}

/**
 * Across the fleet: every image with a finding of the vulnerability, affected or not after VEX.
 * @param {string} id
 */
export async function vulnerabilityResults(id) {
  const results = h('div', { 'aria-live': 'polite' });
  const toggle = vexToggle('fleet-vex-any', () => void load());
  async function load() {
    try {
      /** @type {{ vulnerability: { id: string; artifacts: { edges: Array<{ node: import('../queries.js').VulnerableArtifact }>; pageInfo: { hasNextPage: boolean } } } }} */
      const data = await gql(VULNERABILITY, { id, vex: toggle.mode(), after: null });
      const list = data.vulnerability.artifacts.edges.map((e) => e.node);
      const rows = list.map((a) =>
        h(
          'tr',
          { class: 'vulnerable-artifact' },
          h(
            'td',
            {},
            a.artifact?.tags[0]
              ? h('a', { href: `#/artifact/${a.digest}` }, a.artifact.tags[0])
              : digestLink(a.digest),
          ),
          h(
            'td',
            {},
            a.findings.map((f) => [f.packageName, f.packageVersion].filter(Boolean).join(' ')).join(', ') ||
              '—',
          ),
          h('td', {}, statusBadge(a.vex)),
          h('td', {}, statementText(a.vex.statement)),
        ),
      );
      const affected = list.filter((a) => a.affected).length;
      replace(
        results,
        h(
          'p',
          {},
          `${affected} of ${list.length} image${list.length === 1 ? '' : 's'} with a finding ${affected === 1 ? 'is' : 'are'} affected after VEX.`,
        ),
        table(
          'Images with the vulnerability',
          ['Image', 'Package', 'VEX status', 'Statement'],
          rows,
          'No image you may read has this finding.',
        ),
        data.vulnerability.artifacts.pageInfo.hasNextPage &&
          h('p', { class: 'muted' }, 'More images follow; the first 50 are shown.'),
      );
    } catch (err) {
      replace(results, errorBox(err));
    }
  }
  await load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'vuln-h' },
    h('h2', { id: 'vuln-h' }, `Images with ${id.toUpperCase()}`),
    toggle.el,
    results,
  );
}
