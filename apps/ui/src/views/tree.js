import { gql } from '../api.js';
import { announce, digestWithCopy, h, replace } from '../dom.js';
import { AROUND_ONE } from '../queries.js';
import { bySignatureStatus, category, kindChip, statusBadge } from './badges.js';
import { artifactTypeWords, edgeWords } from './words.js';

/** @typedef {import('../queries.js').TreeNode} TreeNode */
/** @typedef {import('../queries.js').Around} Around */
/** @typedef {{ node: TreeNode; edge: string }} Entry */

/** Deep enough for signatures over attestations over platform manifests of an index. */
const MAX_DEPTH = 6;
/** @type {Around} */
const EMPTY = { children: [], referrers: { edges: [], pageInfo: { hasNextPage: false } } };
const ORDER = ['index', 'image', 'signature', 'attestation', 'sbom', 'other'];

/** @param {Around} around @returns {Entry[]} */
function entries(around) {
  const children = around.children.map((node) => ({ node, edge: 'INDEX_CHILD' }));
  const referrers = around.referrers.edges.map((e) => ({ node: e.node, edge: e.kind }));
  return [...children, ...referrers].sort(
    (a, b) =>
      ORDER.indexOf(category(a.node.kind)) - ORDER.indexOf(category(b.node.kind)) ||
      a.node.digest.localeCompare(b.node.digest),
  );
}

/** @param {TreeNode} n */
function title(n) {
  const annotation = (/** @type {string} */ key) => n.annotations.find((a) => a.key === key)?.value;
  const p = n.platform;
  const platform = p
    ? [p.os, p.architecture, p.variant].filter(Boolean).join('/')
    : annotation('org.opencontainers.image.ref.name');
  const predicate = n.statements[0]?.predicateType ?? annotation('dev.sigstore.bundle.predicateType');
  return predicate ?? platform ?? artifactTypeWords(n.artifactType) ?? n.mediaType ?? 'not fetched yet';
}

/**
 * Only what can have something below it gets an expand control: an index (its platforms) or a
 * node something refers to. Cycles and the depth cap stop expansion too.
 * @param {TreeNode} n
 */
function hasBelow(n) {
  return n.kind === 'INDEX' || (n.below?.edges.length ?? 0) > 0;
}

/**
 * A signature's outcome on its row, compact: the full card (signer, issuer, reason) is in the
 * Signatures section, not repeated here.
 * @param {TreeNode} n
 */
function verdicts(n) {
  return [...n.verification]
    .sort(bySignatureStatus)
    .map((s) =>
      h(
        'span',
        { class: 'tree-sig', title: s.reason ? `${s.reason}${s.message ? `: ${s.message}` : ''}` : '' },
        statusBadge(s.status),
        ' ',
        h(
          'span',
          { class: 'identity small', title: s.identity ?? s.keyId ?? '' },
          s.identity ?? s.keyId ?? '',
        ),
      ),
    );
}

/**
 * The referrers tree around one artifact as nested disclosure lists: every level with something
 * below it expands and collapses with a button (keyboard and screen readers included); deeper
 * levels load on demand.
 */
export class ReferrersTree {
  /** @param {string} rootDigest @param {Around} root */
  constructor(rootDigest, root) {
    this.rootDigest = rootDigest;
    /** @type {Map<string, Around>} */
    this.cache = new Map([[rootDigest, root]]);
    /** @type {Set<string>} keys of expanded nodes: the digest path from the root */
    this.expanded = new Set();
    /** @type {Map<string, Promise<void>>} */
    this.pending = new Map();
    /** @type {Set<string>} digests to highlight as just arrived */
    this.fresh = new Set();
    this.el = h('div', { class: 'tree' });
  }

  /** New data for the root (a live update); expanded levels stay expanded and reload. */
  /** @param {Around} root */
  setRoot(root) {
    this.cache = new Map([[this.rootDigest, root]]);
    this.render();
  }

  render() {
    const active = document.activeElement?.id;
    const root = this.cache.get(this.rootDigest);
    replace(
      this.el,
      h(
        'div',
        { class: 'tree-actions' },
        h(
          'button',
          { type: 'button', class: 'ghost', onclick: () => void this.expandAll() },
          'Expand all levels',
        ),
        h('button', { type: 'button', class: 'ghost', onclick: () => this.collapseAll() }, 'Collapse all'),
      ),
      root ? this.list(root, this.rootDigest, [this.rootDigest], 1) : h('p', {}, 'Loading…'),
    );
    if (active) document.getElementById(active)?.focus();
  }

  /**
   * @param {Around} around @param {string} key @param {string[]} path @param {number} depth
   * @returns {HTMLElement}
   */
  list(around, key, path, depth) {
    const items = entries(around);
    if (items.length === 0) return h('p', { class: 'muted tree-empty' }, 'No referrers or children.');
    const more = around.referrers.pageInfo.hasNextPage
      ? h('li', { class: 'muted' }, 'More referrers exist than shown (first 100).')
      : null;
    return h(
      'ul',
      { class: 'tree-level', id: `level-${key}`, 'data-depth': depth },
      items.map((e) => this.item(e, `${key}/${e.node.digest}`, path, depth)),
      more,
    );
  }

  /**
   * @param {Entry} e @param {string} key @param {string[]} path @param {number} depth
   * @returns {HTMLElement}
   */
  item({ node, edge }, key, path, depth) {
    const open = this.expanded.has(key);
    const cycle = path.includes(node.digest);
    const expandable = !cycle && depth < MAX_DEPTH && node.kind !== 'UNKNOWN' && hasBelow(node);
    const c = category(node.kind);
    const toggle = expandable
      ? h(
          'button',
          {
            type: 'button',
            class: 'toggle',
            id: `t-${key}`,
            'aria-expanded': String(open),
            'aria-controls': `level-${key}`,
            'aria-label': `${open ? 'Collapse' : 'Expand'} ${c} ${node.digest}`,
            onclick: () => void this.toggle(key, node.digest),
          },
          h('span', { 'aria-hidden': 'true' }, open ? '▾' : '▸'),
        )
      : h('span', { class: 'toggle-spacer', 'aria-hidden': 'true' });
    let below = null;
    if (open) {
      const around = this.cache.get(node.digest);
      below = around
        ? this.list(around, key, [...path, node.digest], depth + 1)
        : h('p', { class: 'muted', id: `level-${key}` }, 'Loading…');
      if (!around) void this.load(node.digest);
    }
    return h(
      'li',
      {
        class: `tree-item kind-${c}${this.fresh.has(node.digest) ? ' fresh' : ''}`,
        'data-digest': node.digest,
      },
      h(
        'div',
        { class: 'tree-row' },
        toggle,
        kindChip(node.kind),
        h('span', { class: 'tree-title' }, title(node)),
        digestWithCopy(node.digest),
        h('span', { class: 'edge muted' }, edgeWords(edge)),
        verdicts(node),
        this.fresh.has(node.digest) && h('span', { class: 'chip chip-new' }, 'New'),
      ),
      below,
    );
  }

  /** @param {string} key @param {string} digest */
  async toggle(key, digest) {
    if (this.expanded.has(key)) this.expanded.delete(key);
    else {
      this.expanded.add(key);
      await this.load(digest);
    }
    this.render();
  }

  /** @param {string} digest */
  load(digest) {
    if (this.cache.has(digest)) return Promise.resolve();
    let pending = this.pending.get(digest);
    if (!pending) {
      /** @type {Promise<{ artifact: Around | null }>} */
      const query = gql(AROUND_ONE, { digest });
      pending = query
        .then((data) => {
          this.cache.set(digest, data.artifact ?? EMPTY);
        })
        .catch((/** @type {unknown} */ err) => {
          this.cache.set(digest, EMPTY);
          announce(`Could not load ${digest}: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => {
          this.pending.delete(digest);
          this.render();
        });
      this.pending.set(digest, pending);
    }
    return pending;
  }

  async expandAll() {
    /** @type {Array<{ key: string; digest: string; path: string[] }>} */
    let frontier = [{ key: this.rootDigest, digest: this.rootDigest, path: [] }];
    for (let depth = 1; depth < MAX_DEPTH && frontier.length > 0; depth++) {
      /** @type {typeof frontier} */
      const next = [];
      for (const f of frontier) {
        const around = this.cache.get(f.digest);
        if (!around) continue;
        for (const e of entries(around)) {
          if (
            e.node.kind === 'UNKNOWN' ||
            !hasBelow(e.node) ||
            f.path.includes(e.node.digest) ||
            e.node.digest === f.digest
          )
            continue;
          const key = `${f.key}/${e.node.digest}`;
          this.expanded.add(key);
          next.push({ key, digest: e.node.digest, path: [...f.path, f.digest] });
        }
      }
      await Promise.all(next.map((n) => this.load(n.digest)));
      frontier = next;
    }
    this.render();
  }

  collapseAll() {
    this.expanded.clear();
    this.render();
  }
}
