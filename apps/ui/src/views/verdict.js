import { rest } from '../api.js';
import { digestLink, errorBox, h, replace } from '../dom.js';

/**
 * "Can I deploy this?": every configured policy's verdict for the artifact, asked of
 * `POST /api/v1/verdict` — the same answer admission gets, failing closed.
 * @typedef {{ name: string; requires: { signatures: string[]; attestations: string[]; sbom: boolean } }} Policy
 * @typedef {{ type: string; requirement: string; satisfied: boolean; code?: string; message: string }} Requirement
 * @typedef {{ reference: string; subject: string | null; allowed: boolean; reasons: string[]; codes: string[];
 *   requirements: Requirement[] }} SubjectVerdict
 * @typedef {{ policy: string; allowed: boolean; subjects: SubjectVerdict[] }} Verdict
 */

/** @param {boolean} allowed */
function answer(allowed) {
  return h(
    'span',
    { class: `badge ${allowed ? 'badge-verified' : 'badge-failed'} verdict-answer` },
    h('span', { 'aria-hidden': 'true' }, allowed ? '✓' : '✗'),
    allowed ? ' Allowed' : ' Denied',
  );
}

/** A message with every digest in it shown short and linked, so a line stays a line. */
/** @param {string} message */
function withDigests(message) {
  return message
    .split(/(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})/)
    .map((part, i) => (i % 2 === 1 ? digestLink(part) : part));
}

/** @param {Requirement} q */
function requirement(q) {
  return h(
    'li',
    { class: q.satisfied ? 'req req-ok' : 'req req-failed' },
    h('span', { 'aria-hidden': 'true' }, q.satisfied ? '✓ ' : '✗ '),
    h('span', { class: 'visually-hidden' }, q.satisfied ? 'Satisfied: ' : 'Not satisfied: '),
    withDigests(q.message),
    q.code && !q.satisfied ? h('code', { class: 'code' }, ` ${q.code}`) : '',
  );
}

/** @param {Verdict} v */
function policyRow(v) {
  const s = v.subjects[0];
  const allowed = !!s && s.allowed;
  // Reasons of a subject that never resolved carry no requirements: show them as the answer.
  const unresolved = s && s.requirements.length === 0 ? s.reasons : [];
  return h(
    'li',
    { class: `verdict ${allowed ? 'verdict-allowed' : 'verdict-denied'}`, 'data-policy': v.policy },
    h('div', { class: 'verdict-head' }, answer(allowed), ' ', h('strong', { class: 'policy' }, v.policy)),
    h(
      'ul',
      { class: 'reqs' },
      (s?.requirements ?? []).map(requirement),
      unresolved.map((r) => h('li', { class: 'req req-failed' }, '✗ ', withDigests(r))),
    ),
  );
}

/**
 * @param {string | null} reference what the verdict is asked for (`<registry>/<repository>@<digest>`);
 *   null when the artifact is in no repository the caller may read
 * @param {Array<Node | null | false | '' | undefined>} [use] how to deploy it (reference, pull command), shown under the answers
 */
export function verdictSection(reference, use = []) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Asking every policy…'));
  const section = h(
    'section',
    { class: 'card deploy', 'aria-labelledby': 'deploy-h', id: 'deploy' },
    h('h2', { id: 'deploy-h' }, 'Can I deploy this?'),
    body,
    h('div', { class: 'deploy-use' }, use),
  );
  void (async () => {
    try {
      /** @type {{ policies: Policy[] }} */
      const { policies } = await rest('/api/v1/policies');
      if (policies.length === 0)
        return replace(
          body,
          h(
            'p',
            { class: 'muted' },
            'No policy is configured. Add one under ',
            h('code', {}, 'policies:'),
            ' in the configuration file to get an allowed or denied answer here.',
          ),
        );
      if (!reference)
        return replace(
          body,
          h('p', { class: 'error' }, 'Denied by every policy: this digest is in no repository you may read.'),
        );
      const verdicts = await Promise.all(
        policies.map(
          (p) =>
            /** @type {Promise<Verdict>} */ (
              rest('/api/v1/verdict', { policy: p.name, subjects: [reference] })
            ),
        ),
      );
      const allowed = verdicts.filter((v) => v.subjects[0]?.allowed === true).length;
      replace(
        body,
        h(
          'p',
          { class: `verdict-summary ${allowed === verdicts.length ? 'req-ok' : 'req-failed'}` },
          allowed === verdicts.length
            ? `Allowed by every policy (${verdicts.length}).`
            : `Denied by ${verdicts.length - allowed} of ${verdicts.length} ${verdicts.length === 1 ? 'policy' : 'policies'}.`,
        ),
        h('ul', { class: 'verdicts' }, verdicts.map(policyRow)),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return section;
}
