/** GraphQL documents the explorer sends, and the shapes it reads back. */

/**
 * @typedef {'IMAGE' | 'INDEX' | 'SIGNATURE' | 'ATTESTATION' | 'SBOM' | 'ARTIFACT' | 'UNKNOWN'} ArtifactKind
 * @typedef {{ key: string; value: string }} Annotation
 * @typedef {{ artifactDigest: string; subjectDigest: string; format: string; status: string;
 *   kind: string; repository: string; reason: string | null; message: string | null; identity: string | null; issuer: string | null;
 *   keyId: string | null; authority: string | null; tlogIndex: number | null; verifiedAt: string }} Signature
 * @typedef {{ predicateType: string; artifactDigest: string; builderId: string | null; buildType: string | null;
 *   sourceRepo: string | null; sourceRevision: string | null; parseError: string | null;
 *   vulnerabilities: Array<{ severity: string; count: number }> }} Attestation
 * @typedef {{ digest: string; kind: ArtifactKind; mediaType: string | null; artifactType: string | null;
 *   size: number | null; subjectDigest: string | null; annotations: Annotation[];
 *   verification: Signature[]; statements: Array<{ predicateType: string }>; below?: { edges: Array<{ kind: string }> };
 *   platform?: { os: string | null; architecture: string | null; variant: string | null } | null }} TreeNode
 * @typedef {{ kind: string; node: TreeNode }} ReferrerEdge
 * @typedef {{ children: TreeNode[]; referrers: { edges: ReferrerEdge[]; pageInfo: { hasNextPage: boolean } } }} Around
 * @typedef {{ registry: string; repository: string; tags: string[] }} Location
 * @typedef {{ artifactDigest: string; format: string; specVersion: string | null; name: string | null;
 *   packageCount: number; parseError: string | null }} Sbom
 * @typedef {TreeNode & Around & { tags: string[]; repositories: Location[]; parents: Array<{ digest: string; kind: ArtifactKind; tags: string[] }>;
 *   subject: { digest: string; kind: ArtifactKind; tags: string[] } | null; signatures: Signature[];
 *   attestations: Attestation[]; sbom: Sbom | null }} ArtifactPage
 * @typedef {{ name: string; version: string | null; purl: string | null; licenses: string[] }} Package
 * @typedef {{ edges: Array<{ cursor: string; node: Package }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } }} PackagePage
 * @typedef {{ digest: string; kind: ArtifactKind; tags: string[]; signatures: Array<{ status: string }> }} ListedArtifact
 * @typedef {{ status: string; justification: string | null; impactStatement: string | null; actionStatement: string | null;
 *   timestamp: string | null; vexArtifactDigest: string; format: string; author: string | null; verified: boolean; counted: boolean }} VexStatement
 * @typedef {{ status: string | null; affected: boolean; statement: VexStatement | null }} VexAssessment
 * @typedef {{ vulnerabilityId: string; packageName: string | null; packageVersion: string | null; severity: string | null;
 *   fixedVersion: string | null; reportFormat: string; vex: VexAssessment; statements: VexStatement[] }} Finding
 * @typedef {{ edges: Array<{ cursor: string; node: Finding }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } }} FindingPage
 * @typedef {{ digest: string; affected: boolean; vex: VexAssessment; artifact: { tags: string[] } | null;
 *   findings: Array<{ packageName: string | null; packageVersion: string | null }> }} VulnerableArtifact
 */

const SIGNATURE_FIELDS = `artifactDigest subjectDigest kind repository format status reason message identity issuer keyId authority tlogIndex verifiedAt`;

/** `below`: whether anything refers to the node, so leaves get no expand control. */
const NODE = `digest kind mediaType artifactType size subjectDigest annotations { key value }
  verification { ${SIGNATURE_FIELDS} } statements { predicateType }
  below: referrers(first: 1) { edges { kind } }`;

/** What the tree shows below one artifact: index children and referrers. */
const AROUND = `children { ${NODE} platform { os architecture variant } }
  referrers(first: 100) { pageInfo { hasNextPage } edges { kind node { ${NODE} } } }`;

export const ARTIFACT = `query ExplorerArtifact($digest: String!) {
  artifact(digest: $digest) {
    ${NODE}
    ${AROUND}
    tags
    repositories { registry repository tags }
    parents { digest kind tags }
    subject { digest kind tags }
    signatures { ${SIGNATURE_FIELDS} }
    attestations { predicateType artifactDigest builderId buildType sourceRepo sourceRevision parseError
      vulnerabilities { severity count } }
    sbom { artifactDigest format specVersion name packageCount parseError }
  }
}`;

export const AROUND_ONE = `query ExplorerAround($digest: String!) {
  artifact(digest: $digest) { digest ${AROUND} }
}`;

export const RESOLVE = `query ExplorerResolve($reference: String, $digest: String) {
  artifact(reference: $reference, digest: $digest) { digest }
}`;

export const PACKAGES = `query ExplorerPurl($purl: String!) {
  packages(purl: $purl, first: 100) { purl name version digest artifact { kind tags } }
}`;

const LISTED = `edges { node { digest kind tags signatures { status } } }`;
export const LANDING = `query ExplorerLanding {
  images: artifacts(first: 50, filter: { kind: IMAGE }) { ${LISTED} }
  indexes: artifacts(first: 50, filter: { kind: INDEX }) { ${LISTED} }
}`;

export const SBOM_PACKAGES = `query ExplorerSbom($digest: String!, $query: String, $after: String) {
  artifact(digest: $digest) {
    sbom { packageCount packages(first: 25, query: $query, after: $after) {
      edges { cursor node { name version purl licenses } } pageInfo { hasNextPage endCursor } } }
  }
}`;

export const REFERRER_ADDED = `subscription ExplorerReferrerAdded($subject: String!) {
  referrerAdded(subject: $subject) { subject referrerDigest kind registry repository referrer { kind artifactType } }
}`;

export const VERIFICATION_CHANGED = `subscription ExplorerVerificationChanged($subject: String!) {
  verificationChanged(subject: $subject) { subject artifactDigest status }
}`;

const VEX_STATEMENT = `status justification impactStatement actionStatement timestamp vexArtifactDigest format author verified counted`;

export const VULNERABILITIES = `query ExplorerVulnerabilities($digest: String!, $vex: VexMode!, $after: String) {
  artifact(digest: $digest) {
    vulnerabilities(first: 50, vex: $vex, after: $after) {
      edges { cursor node { vulnerabilityId packageName packageVersion severity fixedVersion reportFormat
        vex { status affected statement { ${VEX_STATEMENT} } } statements { ${VEX_STATEMENT} } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const VULNERABILITY = `query ExplorerVulnerability($id: String!, $vex: VexMode!, $after: String) {
  vulnerability(id: $id, vex: $vex) {
    id
    artifacts(first: 50, after: $after) {
      edges { node { digest affected vex { status affected statement { ${VEX_STATEMENT} } }
        artifact { tags } findings { packageName packageVersion } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;
