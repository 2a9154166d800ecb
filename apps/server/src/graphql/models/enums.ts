import { registerEnumType } from '@nestjs/graphql';

/** Values are the stored strings; GraphQL names are the keys. */
export enum ArtifactKind {
  IMAGE = 'image',
  INDEX = 'index',
  SIGNATURE = 'signature',
  ATTESTATION = 'attestation',
  SBOM = 'sbom',
  VULNERABILITY = 'vulnerability',
  ARTIFACT = 'artifact',
  UNKNOWN = 'unknown',
}

export enum ReferrerKind {
  SIGNATURE = 'signature',
  ATTESTATION = 'attestation',
  SBOM = 'sbom',
  OTHER = 'other',
}

export enum EdgeKind {
  SUBJECT = 'subject',
  TAG_SCHEMA = 'tag-schema',
  COSIGN_TAG = 'cosign-tag',
  BUILDKIT_ATTESTATION = 'buildkit-attestation',
  INDEX_CHILD = 'index-child',
}

registerEnumType(ArtifactKind, {
  name: 'ArtifactKind',
  description: 'What an artifact is, classified from its manifest at ingest.',
  valuesMap: {
    IMAGE: { description: 'A container image manifest.' },
    INDEX: { description: 'An image index (multi-platform image or artifact list).' },
    SIGNATURE: { description: 'A signature (cosign, notation, Sigstore bundle).' },
    ATTESTATION: { description: 'An in-toto attestation (provenance, vulnerability scan, ...).' },
    SBOM: { description: 'A software bill of materials (SPDX, CycloneDX).' },
    VULNERABILITY: {
      description: 'A vulnerability report (Trivy, Grype, cosign vuln) or VEX document (OpenVEX, CSAF VEX).',
    },
    ARTIFACT: { description: 'Any other OCI artifact.' },
    UNKNOWN: { description: 'Listed by a referrers tag-schema index but not fetched yet.' },
  },
});

registerEnumType(ReferrerKind, {
  name: 'ReferrerKind',
  description: 'Filter for referrers by what they are.',
  valuesMap: {
    SIGNATURE: { description: 'Signatures.' },
    ATTESTATION: { description: 'Attestations.' },
    SBOM: { description: 'SBOMs.' },
    OTHER: { description: 'Everything else.' },
  },
});

registerEnumType(EdgeKind, {
  name: 'EdgeKind',
  description: 'How an edge between two artifacts was learnt.',
  valuesMap: {
    SUBJECT: { description: 'The referrer manifest names the subject (OCI 1.1 `subject`).' },
    TAG_SCHEMA: { description: 'Listed by a referrers tag-schema index (`sha256-<hex>` tag).' },
    COSIGN_TAG: { description: 'A cosign legacy tag (`sha256-<hex>.sig`, `.att`, `.sbom`).' },
    BUILDKIT_ATTESTATION: { description: 'A BuildKit attestation manifest inside an image index.' },
    INDEX_CHILD: { description: 'A manifest listed by an image index.' },
  },
});

/** Stored strings outside the enum (future kinds) read as the catch-all value. */
export function toEnum<E extends Record<string, string>>(
  e: E,
  value: string,
  fallback: E[keyof E],
): E[keyof E] {
  const values: string[] = Object.values(e);
  return values.includes(value) ? (value as E[keyof E]) : fallback;
}
