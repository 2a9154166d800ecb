import type {
  ArtifactListFilter,
  ArtifactRow,
  AttestationRow,
  Location,
  PackageRow,
  ReadRepository,
  ReferrerKindFilter,
  ReferrerRow,
  SbomRow,
  SignatureRow,
  VerificationKind,
} from '#store';
import type { Viewer } from './viewer.js';
import type { VexMode } from './vex.js';
import { imageFindings, vulnerableImages } from './vulnerabilities.js';

/**
 * Batch reads for GraphQL's per-request loaders: each answers many keys in one statement, under
 * the viewer's scope. Resolvers reach the store only through this.
 */
export class GraphReader {
  constructor(
    private readonly read: ReadRepository,
    private readonly viewer: Viewer,
    /** The trust policy version in force when asked (it changes when the trusted root is refreshed). */
    private readonly trustVersion: () => string,
  ) {}

  artifacts(digests: string[]): Promise<ArtifactRow[]> {
    return this.read.findArtifacts(this.viewer.scope, digests);
  }

  locations(digests: string[], limit: number, tagLimit: number): Promise<Map<string, Location[]>> {
    return this.read.findLocations(this.viewer.scope, digests, limit, tagLimit);
  }

  listArtifacts(opts: { filter: ArtifactListFilter; after?: string; limit: number }): Promise<ArtifactRow[]> {
    return this.read.listArtifacts(this.viewer.scope, opts);
  }

  referrerPages(opts: {
    subjects: string[];
    artifactType?: string;
    kind?: ReferrerKindFilter;
    after?: string;
    limit: number;
  }): Promise<ReferrerRow[]> {
    return this.read.findReferrerPages(this.viewer.scope, opts);
  }

  children(digests: string[], limit: number) {
    return this.read.findChildren(this.viewer.scope, digests, limit);
  }

  parents(digests: string[], limit: number) {
    return this.read.findParents(this.viewer.scope, digests, limit);
  }

  signatures(
    digests: string[],
    opts: { by: 'subject' | 'artifact'; kind?: VerificationKind; limit: number },
  ): Promise<SignatureRow[]> {
    return this.read.findSignatures(this.viewer.scope, digests, opts);
  }

  attestations(digests: string[], by: 'subject' | 'artifact', limit: number): Promise<AttestationRow[]> {
    return this.read.findAttestations(this.viewer.scope, digests, { by, limit });
  }

  sboms(subjects: string[], limit: number): Promise<SbomRow[]> {
    return this.read.findSboms(this.viewer.scope, subjects, limit);
  }

  sbomPackages(
    sbomIds: number[],
    opts: { query?: string; after?: number; limit: number },
  ): Promise<Array<PackageRow & { id: number; sbomId: number }>> {
    return this.read.findSbomPackages(this.viewer.scope, { sbomIds }, opts);
  }

  /** Findings about each subject, paged per subject, judged after VEX. */
  findings(subjects: string[], opts: { after?: number; limit: number; vex: VexMode }) {
    return imageFindings(this.vulnerabilityContext(), subjects, opts);
  }

  /** Images with a finding of the vulnerability, judged after VEX (see Reader.vulnerabilityArtifacts). */
  vulnerableImages(
    vulnerabilityId: string,
    opts: { after?: string; limit: number; vex: VexMode; locationLimit: number },
  ) {
    return vulnerableImages(this.vulnerabilityContext(), vulnerabilityId, opts);
  }

  private vulnerabilityContext() {
    return { read: this.read, scope: this.viewer.scope, trustVersion: this.trustVersion };
  }

  /** A notified verification result is visible to the viewer (see ReadRepository). */
  verificationVisible(row: { artifact: string; subject: string; repositoryId: number }): Promise<boolean> {
    return this.read.verificationVisible(this.viewer.scope, row);
  }

  /** `registry/repository` of repository ids the viewer may read (others are absent). */
  repositoryPaths(ids: number[]) {
    return this.read.findRepositoryPaths(this.viewer.scope, ids);
  }
}
