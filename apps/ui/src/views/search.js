import { gql, rest } from '../api.js';
import { digestLink, errorBox, h, replace, table } from '../dom.js';
import { LANDING, PACKAGES, RESOLVE } from '../queries.js';
import { VULNERABILITY_ID, vulnerabilityResults } from './vulnerabilities.js';
import { kindChip, signatureSummary } from './badges.js';

/** @typedef {import('../queries.js').ListedArtifact} ListedArtifact */

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/;

/**
 * What the search box understands: `pkg:` is a package URL, `algorithm:hex` a digest, a CVE or
 * GHSA (…) id a vulnerability, anything else an image reference (`registry/repository:tag` or
 * `...@digest`).
 * @param {string} q
 * @returns {{ type: 'purl' | 'digest' | 'vulnerability' | 'reference'; value: string }}
 */
export function classify(q) {
  const value = q.trim();
  if (value.startsWith('pkg:')) return { type: 'purl', value };
  if (VULNERABILITY_ID.test(value)) return { type: 'vulnerability', value };
  if (DIGEST.test(value.toLowerCase())) return { type: 'digest', value: value.toLowerCase() };
  return { type: 'reference', value };
}

/** Referrers tag-schema indexes (`sha256-<hex>` tags) are bookkeeping, not images: left off the landing list. */
/** @param {ListedArtifact} a */
function listed(a) {
  return a.tags.some((t) => !/:sha256-[0-9a-f]{64}$/.test(t));
}

/** @param {ListedArtifact[]} list @param {string} caption */
function artifactTable(list, caption) {
  const rows = list.map((a) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        a.tags.length ? h('a', { href: `#/artifact/${a.digest}` }, a.tags[0] ?? '') : digestLink(a.digest),
        a.tags.length > 1 ? h('span', { class: 'muted' }, ` +${a.tags.length - 1} tags`) : '',
      ),
      h('td', {}, kindChip(a.kind)),
      h('td', {}, digestLink(a.digest)),
      h('td', {}, signatureSummary(a.signatures)),
    ),
  );
  return table(caption, ['Reference', 'Kind', 'Digest', 'Signatures'], rows, 'None known yet.');
}

/** @param {string} purl */
async function packageResults(purl) {
  /** @type {{ packages: Array<{ purl: string; name: string; version: string | null; digest: string; artifact: { kind: import('../queries.js').ArtifactKind; tags: string[] } | null }> }} */
  const data = await gql(PACKAGES, { purl });
  const rows = data.packages.map((p) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        p.artifact?.tags[0]
          ? h('a', { href: `#/artifact/${p.digest}` }, p.artifact.tags[0])
          : digestLink(p.digest),
      ),
      h('td', {}, p.name),
      h('td', {}, p.version ?? '—'),
      h('td', { class: 'purl' }, p.purl),
    ),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'purl-h' },
    h('h2', { id: 'purl-h' }, `Artifacts whose SBOM lists ${purl}`),
    table(
      'Artifacts by package',
      ['Artifact', 'Package', 'Version', 'Package URL'],
      rows,
      'No SBOM lists this package.',
    ),
  );
}

/**
 * The next step for an explorer with nothing to show: configure a registry, or get its content in.
 * @param {Array<{ name: string }>} registries
 */
function nextStep(registries) {
  if (registries.length === 0)
    return h(
      'section',
      { class: 'card next-step', 'aria-labelledby': 'next-h', id: 'next-step' },
      h('h2', { id: 'next-h' }, 'No registry is configured yet'),
      h(
        'ol',
        {},
        h(
          'li',
          {},
          'Add your registry under ',
          h('code', {}, 'registries:'),
          ' in ',
          h('code', {}, 'refgraph.yaml'),
          ' (or the file ',
          h('code', {}, 'REFGRAPH_CONFIG'),
          ' names); ',
          h('code', {}, 'refgraph.example.yaml'),
          ' shows every field. Restart refgraph.',
        ),
        h(
          'li',
          {},
          "Point the registry's notifications (webhook) at ",
          h('code', {}, `${location.origin}/webhooks/<registry-name>`),
          ', so every push is recorded.',
        ),
        h('li', {}, 'Backfill what is already there: ', h('code', {}, 'refgraph sync <registry-name>'), '.'),
      ),
    );
  const names = registries.map((r) => r.name);
  return h(
    'section',
    { class: 'card next-step', 'aria-labelledby': 'next-h', id: 'next-step' },
    h('h2', { id: 'next-h' }, 'Nothing recorded yet'),
    h(
      'p',
      {},
      `Configured: ${names.join(', ')}. Push an image (its webhook records it), or backfill with `,
      h('code', {}, `refgraph sync ${names[0]}`),
      '. See the Activity page for deliveries.',
    ),
  );
}

/**
 * Search by reference, digest or purl; without a query, the known images and indexes.
 * @param {HTMLElement} main
 * @param {string} q
 */
export async function searchView(main, q) {
  const input = h('input', {
    id: 'q',
    name: 'q',
    type: 'search',
    value: q,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'registry/repository:tag, sha256:…, pkg:type/name@version or CVE-…',
    'aria-describedby': 'q-help',
  });
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      role: 'search',
      class: 'search',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const value = input.value.trim();
        if (value) location.hash = `#/search?q=${encodeURIComponent(value)}`;
      },
    },
    h('label', { for: 'q' }, 'Reference, digest, package URL or vulnerability'),
    h('div', { class: 'search-row' }, input, h('button', { type: 'submit' }, 'Search')),
    h(
      'p',
      { id: 'q-help', class: 'muted small' },
      'For example local/demo:v1, sha256:…, pkg:npm/lodash@4.17.21 or CVE-2024-3094.',
    ),
  );
  replace(main, h('h1', { tabindex: -1 }, 'Explore the graph'), form, results);
  if (!q) {
    /** @type {{ images: { edges: Array<{ node: ListedArtifact }> }; indexes: { edges: Array<{ node: ListedArtifact }> } }} */
    const data = await gql(LANDING);
    if (data.images.edges.length === 0 && data.indexes.edges.length === 0) {
      /** @type {{ registries: Array<{ name: string }> }} */
      const { registries } = await rest('/api/v1/registries');
      replace(results, nextStep(registries));
      return;
    }
    replace(
      results,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'idx-h' },
        h('h2', { id: 'idx-h' }, 'Indexes'),
        artifactTable(data.indexes.edges.map((e) => e.node).filter(listed), 'Known indexes'),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'img-h' },
        h('h2', { id: 'img-h' }, 'Images'),
        artifactTable(
          data.images.edges.map((e) => e.node),
          'Known images',
        ),
      ),
    );
    return;
  }
  const what = classify(q);
  try {
    if (what.type === 'purl') {
      replace(results, await packageResults(what.value));
      return;
    }
    if (what.type === 'vulnerability') {
      replace(results, await vulnerabilityResults(what.value));
      return;
    }
    /** @type {{ artifact: { digest: string } | null }} */
    const data = await gql(
      RESOLVE,
      what.type === 'digest' ? { digest: what.value } : { reference: what.value },
    );
    if (data.artifact) {
      location.replace(
        `#/artifact/${data.artifact.digest}${what.type === 'reference' ? `?ref=${encodeURIComponent(what.value)}` : ''}`,
      );
      return;
    }
    replace(results, h('p', { class: 'error', role: 'alert' }, `Nothing known as ${what.value}.`));
  } catch (err) {
    replace(results, errorBox(err));
  }
}
