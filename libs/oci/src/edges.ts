import type { Digest } from './digest.js';
import type { Descriptor, ParsedManifest } from './manifest.js';

/**
 * subject: an OCI 1.1 `subject` field; tag-schema: listed in an index tagged `<alg>-<hex>`;
 * cosign-tag: tagged `sha256-<hex>.sig|.att|.sbom`; buildkit-attestation: an attestation manifest
 * listed in an image index for one platform manifest; index-child: the index lists the child
 * (stored with the index as subject and the child as referrer).
 */
export type EdgeKind = 'subject' | 'tag-schema' | 'cosign-tag' | 'buildkit-attestation' | 'index-child';

export const REFERRER_EDGE_KINDS: readonly EdgeKind[] = [
  'subject',
  'tag-schema',
  'cosign-tag',
  'buildkit-attestation',
];

export interface ExtractedEdge {
  subject: Digest;
  referrer: Digest;
  kind: EdgeKind;
  /** The descriptor the source listed, for answering before the referrer itself is fetched. */
  descriptor?: Descriptor;
}

const BUILDKIT_REFERENCE_TYPE = 'vnd.docker.reference.type';
const BUILDKIT_REFERENCE_DIGEST = 'vnd.docker.reference.digest';

/** Edges implied by the manifest's own content, valid wherever and whenever it is present. */
export function contentEdges(m: ParsedManifest): ExtractedEdge[] {
  const edges: ExtractedEdge[] = [];
  if (m.subject) edges.push({ subject: m.subject.digest, referrer: m.digest, kind: 'subject' });
  for (const child of m.manifests) {
    edges.push({ subject: m.digest, referrer: child.digest, kind: 'index-child', descriptor: child });
    const refDigest = child.annotations?.[BUILDKIT_REFERENCE_DIGEST];
    if (child.annotations?.[BUILDKIT_REFERENCE_TYPE] === 'attestation-manifest' && refDigest) {
      if (/^sha256:[a-f0-9]{64}$/.test(refDigest)) {
        edges.push({
          subject: refDigest,
          referrer: child.digest,
          kind: 'buildkit-attestation',
          descriptor: child,
        });
      }
    }
  }
  return edges;
}

export interface TagSubject {
  subject: Digest;
  /** null: the referrers tag schema (`sha256-<hex>`); otherwise the cosign suffix. */
  suffix: 'sig' | 'att' | 'sbom' | null;
}

const TAG_SUBJECT_RE = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})(?:\.(sig|att|sbom))?$/;

/** Recognises tags that name a subject digest: the referrers tag schema and cosign's tags. */
export function parseTagSubject(tag: string): TagSubject | null {
  const m = TAG_SUBJECT_RE.exec(tag);
  if (!m) return null;
  const [, algorithm, hex, suffix] = m;
  if ((algorithm === 'sha256') !== (hex!.length === 64)) return null;
  return { subject: `${algorithm}:${hex}`, suffix: (suffix as TagSubject['suffix']) ?? null };
}

/** Edges that hold only while `tag` points at `m`. */
export function tagEdges(tag: string, m: ParsedManifest): ExtractedEdge[] {
  const t = parseTagSubject(tag);
  if (!t) return [];
  if (t.suffix === null) {
    if (!m.isIndex) return [];
    return m.manifests
      .filter((d) => d.digest !== t.subject)
      .map((d) => ({ subject: t.subject, referrer: d.digest, kind: 'tag-schema' as const, descriptor: d }));
  }
  if (m.digest === t.subject) return [];
  return [{ subject: t.subject, referrer: m.digest, kind: 'cosign-tag' }];
}
