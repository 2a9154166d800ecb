import { blob, gql, manifest } from '../api.js';
import { announce, errorBox, h, replace, table } from '../dom.js';
import { SBOM_PACKAGES } from '../queries.js';

/** @typedef {import('../queries.js').PackagePage} PackagePage */

const PAGE = 25;

/**
 * Saves the SBOM document as it was pushed: the SBOM artifact's layer in the format it was parsed
 * as (else its first layer), read through the registry view with the token, so the link cannot
 * be a plain href.
 * @param {{ registry: string; repository: string }} where
 * @param {import('../queries.js').Sbom} sbom
 */
async function download(where, sbom) {
  const m = await manifest(where.registry, where.repository, sbom.artifactDigest);
  const layers = m.layers ?? [];
  const layer =
    layers.find((l) => l.mediaType?.toLowerCase().includes(sbom.format.toLowerCase())) ?? layers[0];
  if (!layer?.digest) throw new Error('the SBOM artifact has no layer to download');
  const body = await blob(where.registry, where.repository, layer.digest);
  const url = URL.createObjectURL(body);
  const a = h('a', {
    href: url,
    download: `sbom-${sbom.artifactDigest.replace(/^sha(256|512):/, '').slice(0, 12)}.${sbom.format.toLowerCase()}.json`,
  });
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The SBOM's packages: filter by name or purl (server side), page forward and back with cursors.
 * @param {string} digest the artifact the SBOM describes
 * @param {import('../queries.js').Sbom} sbom
 * @param {{ registry: string; repository: string } | null} [where] a repository holding the SBOM, for the download
 */
export function sbomSection(digest, sbom, where = null) {
  /** @type {Array<string | null>} cursor before each page seen so far */
  let cursors = [null];
  let page = 0;
  let query = '';
  let timer = 0;
  const results = h('div', { class: 'sbom-results', 'aria-live': 'polite' });
  const input = h('input', {
    id: 'sbom-filter',
    type: 'search',
    placeholder: 'e.g. openssl or pkg:npm/',
    autocomplete: 'off',
    oninput: () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        query = input.value.trim();
        cursors = [null];
        page = 0;
        void load();
      }, 250);
    },
  });

  async function load() {
    results.setAttribute('aria-busy', 'true');
    try {
      /** @type {{ artifact: { sbom: { packageCount: number; packages: PackagePage } | null } | null }} */
      const data = await gql(SBOM_PACKAGES, { digest, query: query || null, after: cursors[page] ?? null });
      const pkgs = data.artifact?.sbom?.packages;
      if (!pkgs) return replace(results, h('p', { class: 'muted' }, 'No packages.'));
      if (pkgs.pageInfo.hasNextPage) cursors[page + 1] = pkgs.pageInfo.endCursor;
      const from = page * PAGE + 1;
      const to = page * PAGE + pkgs.edges.length;
      const rows = pkgs.edges.map(({ node: p }) =>
        h(
          'tr',
          {},
          h('td', {}, p.name),
          h('td', {}, p.version ?? '—'),
          h(
            'td',
            { class: 'purl' },
            p.purl
              ? h(
                  'a',
                  {
                    href: `#/search?q=${encodeURIComponent(p.purl)}`,
                    title: 'Every artifact that lists this package',
                  },
                  p.purl,
                )
              : '—',
          ),
          h('td', {}, p.licenses.join(', ') || '—'),
        ),
      );
      replace(
        results,
        table(
          'SBOM packages',
          ['Name', 'Version', 'Package URL', 'Licenses'],
          rows,
          query ? `No package matches “${query}”.` : 'The SBOM lists no packages.',
        ),
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
            'span',
            { class: 'muted' },
            pkgs.edges.length > 0
              ? `Packages ${from}–${to}${query ? ' matching the filter' : ` of ${sbom.packageCount}`}`
              : '',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'ghost',
              disabled: !pkgs.pageInfo.hasNextPage,
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
    { 'aria-labelledby': 'sbom-h', class: 'card', id: 'sbom' },
    h('h2', { id: 'sbom-h' }, 'SBOM'),
    h(
      'p',
      { class: 'muted' },
      [sbom.format.toUpperCase(), sbom.specVersion, sbom.name, `${sbom.packageCount} packages`]
        .filter(Boolean)
        .join(' · '),
    ),
    sbom.parseError && h('p', { class: 'error' }, `Could not be parsed: ${sbom.parseError}`),
    where &&
      h(
        'p',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'ghost',
            id: 'sbom-download',
            onclick: () =>
              void download(where, sbom).catch((/** @type {unknown} */ err) =>
                announce(`Could not download the SBOM: ${err instanceof Error ? err.message : String(err)}`),
              ),
          },
          'Download the SBOM document',
        ),
      ),
    h(
      'form',
      { role: 'search', class: 'inline-form', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
      h('label', { for: 'sbom-filter' }, 'Filter packages by name or purl'),
      input,
    ),
    results,
  );
}
