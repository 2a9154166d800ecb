import { gql, rest, subscribe } from '../api.js';
import { announce, copyButton, digestLink, digestWithCopy, h, replace, table } from '../dom.js';
import { ARTIFACT, REFERRER_ADDED, VERIFICATION_CHANGED } from '../queries.js';
import { bySignatureStatus, kindChip, signatureFacts, signatureSummary } from './badges.js';
import { sbomSection } from './sbom.js';
import { sizeFact } from './size.js';
import { ReferrersTree } from './tree.js';
import { verdictSection } from './verdict.js';
import { vulnerabilitiesSection } from './vulnerabilities.js';
import { artifactTypeWords, glossary, kindWords, term } from './words.js';

/** @typedef {import('../queries.js').ArtifactPage} ArtifactPage */
/** @typedef {import('../queries.js').Attestation} Attestation */
/** @typedef {{ name: string; url: string }} Registry */
/** @typedef {{ registry: string; repository: string }} Where */

/**
 * The repository the page speaks for: the one the searched reference names, else the first.
 * @param {ArtifactPage} a @param {string} ref
 * @returns {Where | null}
 */
function whereOf(a, ref) {
  const named = a.repositories.find(
    (l) =>
      ref.startsWith(`${l.registry}/${l.repository}:`) || ref.startsWith(`${l.registry}/${l.repository}@`),
  );
  return named ?? a.repositories[0] ?? null;
}

/** `docker pull` by digest from the registry itself, so what runs is exactly what was checked. */
/** @param {Where | null} where @param {Registry[]} registries @param {string} digest */
function pullCommand(where, registries, digest) {
  const reg = where && registries.find((r) => r.name === where.registry);
  if (!where || !reg) return null;
  let host;
  try {
    host = new URL(reg.url).host;
  } catch {
    return null;
  }
  if (host === 'registry-1.docker.io') host = 'docker.io';
  return `docker pull ${host}/${where.repository}@${digest}`;
}

/**
 * @param {ArtifactPage} a
 * @param {string} ref the reference searched for, when it led here
 * @param {Where | null} where
 */
function header(a, ref, where) {
  const name =
    ref && a.tags.includes(ref) ? ref : (a.tags.find((t) => !t.endsWith(':latest')) ?? a.tags[0] ?? a.digest);
  const type = artifactTypeWords(a.artifactType);
  return h(
    'header',
    { class: 'artifact-head' },
    h(
      'p',
      { class: 'eyebrow' },
      kindChip(a.kind),
      ' ',
      h('span', { class: 'kind-words' }, kindWords(a.kind)),
    ),
    h('h1', { tabindex: -1 }, name),
    h(
      'p',
      { class: 'copy-line' },
      term('digest', 'Digest'),
      ' ',
      h('code', { class: 'full-digest' }, a.digest),
      copyButton(a.digest, 'digest'),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', {}, 'Signatures'), h('dd', {}, signatureSummary(a.signatures))),
      a.tags.length > 0 && h('div', {}, h('dt', {}, 'Tags'), h('dd', {}, a.tags.join(', '))),
      type &&
        h(
          'div',
          {},
          h('dt', {}, 'Artifact type'),
          h('dd', { class: 'artifact-type', title: a.artifactType ?? '' }, type),
        ),
      sizeFact(a, where),
      a.subject &&
        h(
          'div',
          {},
          h('dt', {}, 'About'),
          h('dd', {}, digestWithCopy(a.subject.digest), ' ', a.subject.tags[0] ?? ''),
        ),
      a.parents.length > 0 &&
        h(
          'div',
          {},
          h('dt', {}, 'Listed by'),
          h(
            'dd',
            {},
            a.parents.map((p) => h('span', { class: 'parent' }, digestLink(p.digest), ' ', p.tags[0] ?? '')),
          ),
        ),
    ),
  );
}

/** @param {ArtifactPage} a */
function signatures(a) {
  const sigs = [...a.signatures].sort(bySignatureStatus);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'sigs-h', id: 'signatures' },
    h('h2', { id: 'sigs-h' }, 'Signatures'),
    sigs.length === 0
      ? h('p', { class: 'muted' }, 'No signature refers to this artifact.')
      : h(
          'ul',
          { class: 'sig-list' },
          sigs.map((s) =>
            h(
              'li',
              { class: `sig sig-${s.status}` },
              signatureFacts(s),
              h('p', { class: 'muted small' }, 'Signature ', digestWithCopy(s.artifactDigest)),
            ),
          ),
        ),
  );
}

/** @param {Attestation} t */
function isProvenance(t) {
  return /provenance/i.test(t.predicateType) || t.builderId !== null;
}

/** @param {string} label @param {string | null} value */
function fact(label, value) {
  return value ? h('div', {}, h('dt', {}, label), h('dd', {}, value)) : null;
}

/** @param {ArtifactPage} a */
function provenance(a) {
  const prov = a.attestations.filter(isProvenance);
  const other = a.attestations.filter((t) => !isProvenance(t));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'prov-h', id: 'provenance' },
    h('h2', { id: 'prov-h' }, 'Provenance and attestations'),
    a.attestations.length === 0 && h('p', { class: 'muted' }, 'No attestation about this artifact.'),
    prov.map((t) =>
      h(
        'dl',
        { class: 'facts provenance' },
        fact('Builder', t.builderId),
        fact('Source repository', t.sourceRepo),
        fact('Revision', t.sourceRevision),
        fact('Build type', t.buildType),
        h(
          'div',
          {},
          h('dt', {}, 'Predicate'),
          h('dd', {}, t.predicateType, ' ', digestLink(t.artifactDigest)),
        ),
        t.parseError && h('div', {}, h('dt', {}, 'Parse error'), h('dd', { class: 'error' }, t.parseError)),
      ),
    ),
    other.length > 0 &&
      h(
        'ul',
        { class: 'plain' },
        other.map((t) =>
          h(
            'li',
            {},
            t.predicateType,
            ' ',
            digestLink(t.artifactDigest),
            t.vulnerabilities.length > 0 &&
              h(
                'span',
                { class: 'vulns' },
                ' — ',
                t.vulnerabilities.map((v) => `${v.count} ${v.severity}`).join(', '),
              ),
            t.parseError && h('span', { class: 'error' }, ` (${t.parseError})`),
          ),
        ),
      ),
  );
}

/** @param {ArtifactPage} a */
function locations(a) {
  const rows = a.repositories.map((l) =>
    h('tr', {}, h('td', {}, l.registry), h('td', {}, l.repository), h('td', {}, l.tags.join(', ') || '—')),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'where-h', id: 'where' },
    h('h2', { id: 'where-h' }, 'Where it lives'),
    table(
      'Repositories and tags',
      ['Registry', 'Repository', 'Tags'],
      rows,
      'Not present in any repository you may read.',
    ),
  );
}

/**
 * One artifact: who signed it and whether that holds, what refers to it (live), where it was
 * built, what is inside and where it lives.
 * @param {HTMLElement} main
 * @param {string} digest
 * @param {string} [ref] the reference searched for, shown as the title
 * @returns {Promise<() => void>} stops the live updates
 */
export async function artifactView(main, digest, ref = '') {
  /** @type {{ artifact: ArtifactPage | null }} */
  const data = await gql(ARTIFACT, { digest });
  const a = data.artifact;
  if (!a) {
    replace(
      main,
      h('h1', { tabindex: -1 }, 'Not found'),
      h('p', {}, `No artifact ${digest} is known or visible to you.`),
    );
    return () => {};
  }
  /** @type {Registry[]} */
  const registries = await rest('/api/v1/registries').then(
    (/** @type {{ registries: Registry[] }} */ b) => b.registries,
    () => [],
  );
  const where = whereOf(a, ref);
  const reference = where ? `${where.registry}/${where.repository}@${a.digest}` : null;
  const tree = new ReferrersTree(a.digest, a);
  const live = h('p', { class: 'live', 'data-status': 'connecting' }, 'Connecting…');
  const head = h('div', {}, header(a, ref, where));
  const pull = pullCommand(where, registries, a.digest);
  /** How to deploy exactly what the verdicts are about: by digest. */
  const use = [
    reference &&
      h(
        'p',
        { class: 'copy-line' },
        h('span', { class: 'k' }, 'Reference '),
        h('code', { class: 'reference' }, reference),
        copyButton(reference, 'reference'),
      ),
    pull &&
      h(
        'p',
        { class: 'copy-line' },
        h('span', { class: 'k' }, 'Pull '),
        h('code', { class: 'pull' }, pull),
        copyButton(pull, 'pull command'),
      ),
  ];
  const deploy = h('div', {}, verdictSection(reference, use));
  const sigs = h('div', {}, signatures(a));
  const prov = h('div', {}, provenance(a));
  tree.render();
  // The order answers "can I deploy this?" first, then the evidence behind the answer.
  replace(
    main,
    head,
    deploy,
    h('div', { class: 'grid' }, sigs, prov),
    a.sbom
      ? sbomSection(a.digest, a.sbom, where)
      : h(
          'section',
          { class: 'card', id: 'sbom' },
          h('h2', {}, term('SBOM')),
          h('p', { class: 'muted' }, 'No SBOM describes this artifact.'),
        ),
    vulnerabilitiesSection(a.digest),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'tree-h', id: 'tree' },
      h('div', { class: 'section-head' }, h('h2', { id: 'tree-h' }, 'What refers to it'), live),
      glossary(),
      tree.el,
    ),
    locations(a),
  );

  let refreshing = Promise.resolve();
  const refresh = () =>
    (refreshing = refreshing.then(async () => {
      try {
        /** @type {{ artifact: ArtifactPage | null }} */
        const next = await gql(ARTIFACT, { digest });
        if (!next.artifact) return;
        replace(head, header(next.artifact, ref, where));
        replace(deploy, verdictSection(reference, use));
        replace(sigs, signatures(next.artifact));
        replace(prov, provenance(next.artifact));
        tree.setRoot(next.artifact);
      } catch (err) {
        announce(err instanceof Error ? err.message : String(err));
      }
    }));

  /** @param {import('../api.js').LiveStatus} s */
  const onStatus = (s) => {
    live.dataset.status = s;
    live.textContent = s === 'live' ? 'Live' : s === 'connecting' ? 'Connecting…' : 'Offline — retrying';
  };
  const stopAdded = subscribe(
    REFERRER_ADDED,
    { subject: a.digest },
    (/** @type {{ referrerAdded: { referrerDigest: string; referrer: { kind: string } | null } }} */ d) => {
      const r = d.referrerAdded;
      tree.fresh.add(r.referrerDigest);
      announce(`New ${(r.referrer?.kind ?? 'referrer').toLowerCase()} ${r.referrerDigest} was added.`);
      void refresh();
    },
    onStatus,
  );
  const stopChanged = subscribe(
    VERIFICATION_CHANGED,
    { subject: a.digest },
    (/** @type {{ verificationChanged: { artifactDigest: string; status: string } }} */ d) => {
      announce(`Signature ${d.verificationChanged.artifactDigest} is now ${d.verificationChanged.status}.`);
      void refresh();
    },
    onStatus,
  );
  return () => {
    stopAdded();
    stopChanged();
  };
}
