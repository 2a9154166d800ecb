import type { AttestationRow, Location, SignatureRow } from '#store';

// The shapes of the read model's answers (answers.ts), shared by REST, GraphQL and the CLI.

export interface Resolved {
  reference: string;
  registry?: string;
  repository?: string;
  tag?: string;
  digest: string;
}

export interface ArtifactSummary {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  kind: string;
  size: number;
  subject: string | null;
  annotations: Record<string, string>;
  locations: Location[];
  /** Signatures over the artifact (not signed attestations), by status. */
  signatures: { total: number; verified: number; failed: number; noAuthority: number; pending: number };
  attestations: Record<string, number>;
  sboms: number;
}

export interface ReferrerNode {
  digest: string;
  edgeKind: string;
  mediaType: string | null;
  artifactType: string | null;
  kind: string;
  size: number | null;
  annotations: Record<string, string>;
  /** When this node is a signature or a signed attestation: its verification outcome(s). */
  verification: SignatureRow[];
  /** When this node is an attestation: the statements it carries. */
  attestations: AttestationRow[];
  referrers: ReferrerNode[];
}

export interface ReferrersPage {
  subject: string;
  referrers: ReferrerNode[];
  children?: Array<{ digest: string; mediaType?: string; platform?: unknown }>;
  nextCursor: string | null;
}
