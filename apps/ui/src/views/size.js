import { manifest } from '../api.js';
import { bytes, h, replace } from '../dom.js';

/** @typedef {import('../queries.js').ArtifactPage} ArtifactPage */

/**
 * What pulling costs: config plus layers, as the manifest lists them (the manifest's own bytes
 * are not the image). An index has no size of its own: each platform has one.
 * @param {{ config?: { size?: number }; layers?: Array<{ size?: number }> }} m
 * @returns {number | null}
 */
export function contentSize(m) {
  if (!m.config && !m.layers) return null;
  return (m.config?.size ?? 0) + (m.layers ?? []).reduce((n, l) => n + (l.size ?? 0), 0);
}

/** @param {{ os: string | null; architecture: string | null; variant: string | null } | null | undefined} p */
function platformName(p) {
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : '';
}

/**
 * The size fact, filled in once the manifests are read from the registry view.
 * @param {ArtifactPage} a
 * @param {{ registry: string; repository: string } | null} where a repository holding it
 */
export function sizeFact(a, where) {
  const dd = h('dd', { class: 'size' }, h('span', { class: 'muted' }, '…'));
  const manifestBytes = h('span', { class: 'muted small' }, ` (manifest ${bytes(a.size)})`);
  const fill = async () => {
    if (!where) return replace(dd, bytes(a.size), manifestBytes);
    if (a.kind === 'INDEX') {
      const platforms = a.children.filter((c) => {
        const p = c.platform;
        return p && p.os !== 'unknown' && p.architecture !== 'unknown';
      });
      const sizes = await Promise.all(
        platforms.map(async (c) => ({
          name: platformName(c.platform),
          size: contentSize(await manifest(where.registry, where.repository, c.digest)),
        })),
      );
      // Children come in digest order; platforms read better by name.
      sizes.sort((x, y) => x.name.localeCompare(y.name));
      if (sizes.length === 0) return replace(dd, h('span', { class: 'muted' }, 'No platform images'));
      return replace(
        dd,
        h(
          'ul',
          { class: 'plain platform-sizes' },
          sizes.map((s) => h('li', {}, h('span', { class: 'platform' }, s.name), ' ', bytes(s.size))),
        ),
      );
    }
    const size = contentSize(await manifest(where.registry, where.repository, a.digest));
    replace(dd, size === null ? bytes(a.size) : bytes(size), manifestBytes);
  };
  fill().catch(() => replace(dd, bytes(a.size), h('span', { class: 'muted small' }, ' (manifest only)')));
  return h('div', {}, h('dt', {}, a.kind === 'INDEX' ? 'Size per platform' : 'Size'), dd);
}
