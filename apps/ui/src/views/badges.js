import { h } from '../dom.js';
import { GLOSSARY } from './words.js';

/** @typedef {import('../queries.js').Signature} Signature */
/** @typedef {import('../queries.js').ArtifactKind} ArtifactKind */

/** @typedef {'signature' | 'attestation' | 'sbom' | 'image' | 'index' | 'other'} Category */

/** @type {Record<Category, string>} */
const CATEGORY_LABEL = {
  signature: 'Signature',
  attestation: 'Attestation',
  sbom: 'SBOM',
  image: 'Image',
  index: 'Index',
  other: 'Other',
};

/**
 * @param {ArtifactKind} kind
 * @returns {Category}
 */
export function category(kind) {
  switch (kind) {
    case 'SIGNATURE':
      return 'signature';
    case 'ATTESTATION':
      return 'attestation';
    case 'SBOM':
      return 'sbom';
    case 'IMAGE':
      return 'image';
    case 'INDEX':
      return 'index';
    case 'ARTIFACT':
    case 'UNKNOWN':
      return 'other';
  }
}

/** Kinds differ by label and shape as well as colour. */
/** @param {ArtifactKind} kind */
export function kindChip(kind) {
  const c = category(kind);
  const explained = /** @type {Record<string, string>} */ ({
    signature: GLOSSARY.signature,
    attestation: GLOSSARY.attestation,
    sbom: GLOSSARY.SBOM,
    index: GLOSSARY.index,
  })[c];
  return h('span', { class: `chip chip-${c}`, title: explained }, CATEGORY_LABEL[c]);
}

/** @type {Record<string, { label: string; icon: string }>} */
const STATUS = {
  verified: { label: 'Verified', icon: '✓' },
  failed: { label: 'Failed', icon: '✗' },
  no_authority: { label: 'No authority', icon: '?' },
  pending: { label: 'Pending', icon: '…' },
  done: { label: 'Done', icon: '✓' },
  skipped: { label: 'Skipped', icon: '–' },
};

/** @param {string} status */
export function statusBadge(status) {
  const s = STATUS[status] ?? { label: status, icon: '•' };
  return h(
    'span',
    { class: `badge badge-${status.replace(/[^a-z_]/g, '')}` },
    h('span', { 'aria-hidden': 'true' }, s.icon),
    ` ${s.label}`,
  );
}

/** Who signed (identity and issuer, or the key) and, when it did not hold, why. */
/** @param {Signature} s */
export function signatureFacts(s) {
  const signer = s.identity
    ? [h('span', { class: 'k' }, 'Signer '), h('span', { class: 'identity' }, s.identity)]
    : s.keyId
      ? [h('span', { class: 'k' }, 'Key '), h('code', { class: 'identity' }, s.keyId)]
      : [h('span', { class: 'muted' }, 'Signer unknown')];
  return h(
    'div',
    { class: 'sig-facts' },
    h('div', {}, statusBadge(s.status), ' ', h('span', { class: 'format' }, s.format)),
    h('div', {}, signer),
    s.issuer && h('div', {}, h('span', { class: 'k' }, 'Issuer '), h('span', { class: 'issuer' }, s.issuer)),
    s.authority && h('div', {}, h('span', { class: 'k' }, 'Authority '), s.authority),
    s.status !== 'verified' &&
      s.reason &&
      h(
        'div',
        { class: 'reason' },
        h('span', { class: 'k' }, 'Reason '),
        h('code', {}, s.reason),
        s.message ? ` — ${s.message}` : '',
      ),
  );
}

/** Verified first: what holds comes before what is still open, what failed comes last. */
const STATUS_ORDER = ['verified', 'done', 'pending', 'no_authority', 'skipped', 'failed'];

/** @param {string} status */
function rank(status) {
  const i = STATUS_ORDER.indexOf(status);
  return i < 0 ? STATUS_ORDER.length : i;
}

/** @param {{ status: string; artifactDigest?: string }} a @param {{ status: string; artifactDigest?: string }} b */
export function bySignatureStatus(a, b) {
  return rank(a.status) - rank(b.status) || (a.artifactDigest ?? '').localeCompare(b.artifactDigest ?? '');
}

/** "2 verified · 1 failed", verified first */
/** @param {Array<{ status: string }>} sigs */
export function signatureSummary(sigs) {
  if (sigs.length === 0) return h('span', { class: 'muted' }, 'No signatures');
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const s of sigs) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return h(
    'span',
    { class: 'summary' },
    [...counts]
      .sort(([a], [b]) => rank(a) - rank(b))
      .map(([status, n]) => h('span', { class: 'summary-item' }, statusBadge(status), ` ${n}`)),
  );
}
