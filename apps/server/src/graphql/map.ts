import { listCap } from './limits.js';
import type { ArtifactRow, AttestationRow, ReferrerRow, SbomRow } from '#store';
import { Artifact } from './models/artifact.model.js';
import { ArtifactKind, EdgeKind, toEnum } from './models/enums.js';
import { Attestation, Sbom } from './models/trust.model.js';

/** API models are built here from rows; resolvers never hand rows to GraphQL. */
export function toArtifact(row: ArtifactRow): Artifact {
  return {
    digest: row.digest,
    mediaType: row.mediaType,
    artifactType: row.artifactType,
    kind: toEnum(ArtifactKind, row.kind, ArtifactKind.ARTIFACT),
    size: row.size,
    annotations: annotationList(row.annotations),
    subjectDigest: row.subjectDigest,
  };
}

interface Descriptor {
  mediaType?: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** An artifact known only from a descriptor listing it (not fetched yet). */
export function fromDescriptor(digest: string, d: Descriptor | null): Artifact {
  return {
    digest,
    mediaType: d?.mediaType ?? null,
    artifactType: d?.artifactType ?? null,
    kind: ArtifactKind.UNKNOWN,
    size: d?.size ?? null,
    annotations: annotationList(d?.annotations ?? {}),
    subjectDigest: null,
  };
}

export function fromReferrer(r: ReferrerRow): Artifact {
  return r.artifact ? toArtifact(r.artifact) : fromDescriptor(r.digest, r.descriptor);
}

export function edgeKind(kind: string): EdgeKind {
  return toEnum(EdgeKind, kind, EdgeKind.SUBJECT);
}

function annotationList(a: Record<string, string>) {
  return Object.entries(a)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .slice(0, listCap('Artifact.annotations'))
    .map(([key, value]) => ({ key, value: String(value) }));
}

const SEVERITY = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'];
function rank(severity: string): number {
  const i = SEVERITY.indexOf(severity.toLowerCase());
  return i < 0 ? SEVERITY.length : i;
}

/** Vulnerability counts in severity order (jsonb keeps no order), unknown labels last by name. */
export function toAttestation(row: AttestationRow): Attestation {
  const { vulnCounts, ...rest } = row;
  return {
    ...rest,
    vulnerabilities: Object.entries(vulnCounts ?? {})
      .map(([severity, count]) => ({ severity, count: Number(count) }))
      .sort((a, b) => rank(a.severity) - rank(b.severity) || a.severity.localeCompare(b.severity))
      .slice(0, listCap('Attestation.vulnerabilities')),
  };
}

export function toSbom(row: SbomRow): Sbom {
  return {
    id: row.id,
    artifactDigest: row.artifactDigest,
    format: row.format,
    specVersion: row.specVersion,
    name: row.name,
    packageCount: row.packageCount,
    parseError: row.parseError,
  };
}
