import { h } from '../dom.js';

/**
 * Plain words for what the graph stores in OCI terms: kinds, artifact types and the ways an edge
 * was found, and a glossary behind the OCI words the explorer still has to use.
 */

/** @typedef {import('../queries.js').ArtifactKind} ArtifactKind */

/** @type {Record<ArtifactKind, string>} */
const KIND_WORDS = {
  IMAGE: 'Container image',
  INDEX: 'Multi-platform image',
  SIGNATURE: 'Signature',
  ATTESTATION: 'Attestation',
  SBOM: 'Software bill of materials (SBOM)',
  ARTIFACT: 'Other artifact',
  UNKNOWN: 'Not fetched yet',
};

/** @param {ArtifactKind} kind */
export function kindWords(kind) {
  return KIND_WORDS[kind];
}

/** Config media types of runnable images: the artifact type of an image says nothing more. */
const IMAGE_CONFIGS = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** @type {Array<[RegExp, string]>} */
const TYPE_WORDS = [
  [
    /^application\/vnd\.dev\.sigstore\.bundle(\.v[\d.]+)?\+json/,
    'Sigstore bundle (signature or signed statement)',
  ],
  [/^application\/vnd\.cncf\.notary\.signature$/, 'Notation signature'],
  [/^application\/vnd\.dev\.cosign\.simplesigning\.v1\+json$/, 'Cosign signature'],
  [/^application\/vnd\.dsse\.envelope\.v1\+json$/, 'Signed statement (DSSE envelope)'],
  [/^application\/vnd\.in-toto(\+json|\.)/, 'In-toto statement'],
  [/^application\/vnd\.docker\.attestation\.manifest\.v1\+json$/, 'BuildKit attestations'],
  [/^application\/spdx3?\+json$|^text\/spdx/, 'SPDX SBOM'],
  [/^application\/vnd\.cyclonedx/, 'CycloneDX SBOM'],
  [/^application\/vnd\.oci\.empty\.v1\+json$/, 'Empty (type given by the artifact only)'],
];

/**
 * The artifact type in words, or null when it adds nothing (an image's config media type).
 * @param {string | null} type
 * @returns {string | null}
 */
export function artifactTypeWords(type) {
  if (!type || IMAGE_CONFIGS.has(type)) return null;
  return TYPE_WORDS.find(([re]) => re.test(type))?.[1] ?? type;
}

/** How the edge to a tree entry was found, as a user would say it. */
const EDGE_WORDS = /** @type {Record<string, string>} */ ({
  INDEX_CHILD: 'platform of this image',
  SUBJECT: 'refers to it',
  TAG_SCHEMA: 'listed for it by the registry',
  COSIGN_TAG: 'found by its cosign tag',
  BUILDKIT_ATTESTATION: 'built with it (BuildKit)',
});

/** @param {string} edge */
export function edgeWords(edge) {
  return EDGE_WORDS[edge] ?? edge.toLowerCase().replace(/_/g, ' ');
}

/** The OCI words the explorer uses, explained once. */
export const GLOSSARY = /** @type {const} */ ({
  digest:
    'The content hash (sha256:…) that names an image or artifact exactly; a tag can move, a digest cannot.',
  referrer:
    'An artifact that points at another one: a signature, attestation or SBOM about an image. The image is its subject.',
  index: 'A list of images, one per platform (linux/amd64, linux/arm64…), pulled under one tag.',
  attestation:
    'A signed statement about an image, such as how it was built (provenance) or a vulnerability scan.',
  SBOM: 'Software bill of materials: the packages an image contains.',
  signature: 'Proof that a known identity or key vouched for exactly this digest.',
});

/**
 * A word with its explanation as a tooltip (hover, or focus with the keyboard).
 * @param {keyof typeof GLOSSARY} word @param {string} [shown]
 */
export function term(word, shown = word) {
  return h('span', { class: 'term', tabindex: 0, title: GLOSSARY[word], 'data-term': word }, shown);
}

/** The glossary as a disclosure, for readers who cannot hover. */
export function glossary() {
  return h(
    'details',
    { class: 'glossary' },
    h('summary', {}, 'What do these words mean?'),
    h(
      'dl',
      {},
      Object.entries(GLOSSARY).map(([w, text]) => h('div', {}, h('dt', {}, w), h('dd', {}, text))),
    ),
  );
}
