import {
  DocumentError,
  IN_TOTO_PAYLOAD_TYPE,
  isSbomPredicateType,
  isVulnerabilityPredicateType,
  LayerVerifier,
  parseDsseEnvelope,
  parseJsonDocument,
  parseSbom,
  parseStatement,
  parseVulnerabilityDocument,
  signatureKindOf,
  statementNames,
  summarizeStatement,
  type Decision,
  type InTotoStatement,
  type LayerTask,
  type SignerFacts,
  type TrustPolicy,
  type TrustRule,
  type VerificationResult,
} from '#verify';
import { COSIGN_SIGN_PREDICATE, type Descriptor } from '#oci';
import type {
  AttestationRecord,
  SbomRecord,
  SignatureKind,
  SignatureRecord,
  VulnerabilityDocumentRecord,
} from '#store';

/** A repository in which an edge links the subject to the artifact, with the rule that covers it. */
export interface RepositoryContext {
  repositoryId: number;
  /** `<registry>/<repository>`. */
  scope: string;
  /** The first trust rule whose pattern matches `scope`; null when none does. */
  rule: TrustRule | null;
}

/** One subject of the artifact, and every repository whose trust rule decides a result for it. */
export interface SubjectContext {
  digest: string;
  repositories: RepositoryContext[];
  /** The subject's descriptor when the referrer names it (OCI `subject`); notation binds to it. */
  descriptor?: Descriptor;
}

export interface Records {
  signatures: SignatureRecord[];
  attestations: AttestationRecord[];
  sboms: SbomRecord[];
  vulnerabilities: VulnerabilityDocumentRecord[];
}

/** Where a vulnerability document came from: a plain layer, or an attestation's predicate. */
interface Carrier {
  predicateType: string | null;
  /** Inside a signature envelope, whose verification rows say whether it verified. */
  signed: boolean;
}

/**
 * Turns one fetched layer into rows: verification rows per (subject, repository), attestation and
 * SBOM rows per subject. Verification itself and the trust policy live in libs/verify; this only
 * maps their outcomes to records. Pure apart from the verifiers (synchronous computations), so the
 * job around it only fetches and stores.
 */
export class RecordBuilder {
  private readonly verifier: LayerVerifier;

  constructor(
    private readonly policy: Pick<TrustPolicy, 'trustRoot' | 'version'>,
    private readonly artifactDigest: string,
    private readonly annotations: Record<string, string>,
    readonly out: Records = { signatures: [], attestations: [], sboms: [], vulnerabilities: [] },
  ) {
    this.verifier = new LayerVerifier(policy.trustRoot);
  }

  /** A layer that could not be read (too large, missing, corrupt): its rows say so. */
  unreadable(task: LayerTask, subjects: SubjectContext[], why: string): void {
    for (const s of subjects) {
      if (isSignatureAction(task)) {
        const kind = signatureKindOf(task.action, null, this.declaredPredicateType(task));
        const result: VerificationResult = { status: 'failed', reason: 'bundle_malformed', message: why };
        for (const r of s.repositories) this.signature(task, s, r, kind, { result, authority: null });
      } else if (task.action === 'sbom') {
        this.sbomError(task, s, why);
      } else if (task.action === 'vulnerability') {
        this.vulnerabilityError(task, s, UNSIGNED_LAYER, why);
      } else {
        this.attestationError(task, s, why);
      }
    }
  }

  layer(task: LayerTask, blob: Buffer, subjects: SubjectContext[]): void {
    switch (task.action) {
      case 'sigstore-bundle':
        return this.sigstoreBundle(task, blob, subjects);
      case 'cosign-simplesigning':
      case 'cosign-dsse':
        for (const s of subjects) this.verifyPerRepository(task, blob, s);
        if (task.action === 'cosign-dsse') this.statementFromEnvelope(task, blob, subjects);
        return;
      case 'in-toto':
        return this.statement(task, () => parseStatement(blob), subjects, false);
      case 'sbom':
        return this.sbom(task, subjects, () => parseJsonDocument(blob, 'SBOM'));
      case 'vulnerability':
        return this.vulnerability(task, subjects, UNSIGNED_LAYER, () =>
          parseJsonDocument(blob, 'vulnerability document'),
        );
      case 'notation-jws':
      case 'notation-cose':
        for (const s of subjects) this.verifyPerRepository(task, blob, s);
        return;
    }
  }

  private sigstoreBundle(task: LayerTask, blob: Buffer, subjects: SubjectContext[]): void {
    for (const s of subjects) this.verifyPerRepository(task, blob, s);
    let doc: { messageSignature?: unknown; dsseEnvelope?: unknown } | null;
    try {
      doc = parseJsonDocument(blob, 'Sigstore bundle') as typeof doc;
    } catch {
      return; // the signature rows already say the bundle is malformed
    }
    // A statement is read only from the envelope that was verified: a bundle that also carries a
    // message signature had that verified (or was refused), never its envelope.
    if (!doc || typeof doc !== 'object' || doc.messageSignature != null || doc.dsseEnvelope == null) return;
    this.statementFromEnvelope(task, Buffer.from(JSON.stringify(doc.dsseEnvelope)), subjects);
  }

  private statementFromEnvelope(task: LayerTask, envelopeJson: Buffer, subjects: SubjectContext[]): void {
    this.statement(
      task,
      () => {
        // The envelope's one parser, which decodes strictly: a payload that is not base64 is a
        // parse error, never a statement read from whatever bytes a lenient decode leaves.
        const env = parseDsseEnvelope(envelopeJson);
        if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
          throw new DocumentError(
            `DSSE payload type ${JSON.stringify(env.payloadType)} is not an in-toto statement`,
          );
        }
        return parseStatement(env.payload);
      },
      subjects,
      true,
    );
  }

  /** `signed`: the statement came out of a signature envelope, whose rows already record it. */
  private statement(
    task: LayerTask,
    parse: () => InTotoStatement,
    subjects: SubjectContext[],
    signed: boolean,
  ): void {
    let st: InTotoStatement;
    try {
      st = parse();
    } catch (err) {
      for (const s of subjects) this.attestationError(task, s, errorText(err));
      return;
    }
    // cosign v3's signing statement is a signature of the subject, stored as such; it states
    // nothing else about the subject worth answering as an attestation.
    if (signed && st.predicateType === COSIGN_SIGN_PREDICATE) return;
    // A statement is about the artifacts it names: linked to a subject it does not name (a copy of
    // another image's provenance attached to this one), it says nothing about that subject.
    const named = subjects.filter((s) => statementNames(st, s.digest));
    for (const s of subjects) {
      if (!named.includes(s)) this.attestationError(task, s, `the statement does not name ${s.digest}`);
    }
    subjects = named;
    const summary = summarizeStatement(st);
    for (const s of subjects) {
      this.out.attestations.push({
        artifactDigest: this.artifactDigest,
        layerDigest: task.key,
        subjectDigest: s.digest,
        predicateType: st.predicateType,
        statement: {
          _type: st.type,
          predicateType: st.predicateType,
          subject: st.subjects,
          predicate: st.predicate,
        },
        builderId: summary.builderId ?? null,
        buildType: summary.buildType ?? null,
        sourceRepo: summary.sourceRepo ?? null,
        sourceRevision: summary.sourceRevision ?? null,
        vulnCounts: summary.vulnCounts ?? null,
        parseError: null,
        signed,
      });
    }
    if (isSbomPredicateType(st.predicateType)) this.sbom(task, subjects, () => st.predicate, signed);
    if (isVulnerabilityPredicateType(st.predicateType)) {
      this.vulnerability(task, subjects, { predicateType: st.predicateType, signed }, () => st.predicate);
    }
  }

  /** A report's findings or a VEX document's statements, once per subject; unreadable ones say why. */
  private vulnerability(
    task: LayerTask,
    subjects: SubjectContext[],
    from: Carrier,
    load: () => unknown,
  ): void {
    try {
      const doc = parseVulnerabilityDocument(load());
      for (const s of subjects) {
        this.out.vulnerabilities.push({
          artifactDigest: this.artifactDigest,
          layerDigest: task.key,
          subjectDigest: s.digest,
          kind: doc.kind,
          format: doc.format,
          predicateType: from.predicateType,
          signed: from.signed,
          producer: doc.kind === 'report' ? doc.scanner : doc.author,
          documentRef: doc.kind === 'report' ? null : doc.documentId,
          issuedAt: doc.timestamp,
          skipped: doc.skipped,
          parseError: null,
          findings: doc.kind === 'report' ? doc.findings : [],
          statements: doc.kind === 'vex' ? doc.statements : [],
        });
      }
    } catch (err) {
      for (const s of subjects) this.vulnerabilityError(task, s, from, errorText(err));
    }
  }

  private vulnerabilityError(task: LayerTask, s: SubjectContext, from: Carrier, why: string): void {
    this.out.vulnerabilities.push({
      artifactDigest: this.artifactDigest,
      layerDigest: task.key,
      subjectDigest: s.digest,
      kind: 'unknown',
      format: 'unknown',
      predicateType: from.predicateType,
      signed: from.signed,
      producer: null,
      documentRef: null,
      issuedAt: null,
      skipped: 0,
      parseError: why.slice(0, 2000),
      findings: [],
      statements: [],
    });
  }

  private sbom(task: LayerTask, subjects: SubjectContext[], load: () => unknown, signed = false): void {
    try {
      const doc = parseSbom(load());
      for (const s of subjects) {
        this.out.sboms.push({
          artifactDigest: this.artifactDigest,
          layerDigest: task.key,
          subjectDigest: s.digest,
          format: doc.format,
          specVersion: doc.specVersion,
          name: doc.name,
          parseError: null,
          signed,
          packages: doc.packages,
        });
      }
    } catch (err) {
      for (const s of subjects) this.sbomError(task, s, errorText(err));
    }
  }

  /**
   * One row per repository linking the subject, each decided by that repository's rule. Rules are
   * shared by many repositories and the outcome depends only on the rule, so each is tried once.
   */
  private verifyPerRepository(task: LayerTask, blob: Buffer, s: SubjectContext): void {
    const kind = signatureKindOf(task.action, blob, this.declaredPredicateType(task));
    const byRule = new Map<TrustRule, Decision>();
    for (const r of s.repositories) {
      let decision = r.rule ? byRule.get(r.rule) : undefined;
      if (!decision) {
        decision = this.verifier.decide(task, blob, s, r.rule, r.scope);
        if (r.rule) byRule.set(r.rule, decision);
      }
      this.signature(task, s, r, kind, decision);
    }
  }

  private signature(
    task: LayerTask,
    s: SubjectContext,
    r: RepositoryContext,
    kind: SignatureKind,
    { result, authority }: Decision,
  ): void {
    const facts: SignerFacts = result.status === 'no_authority' ? {} : result;
    this.out.signatures.push({
      artifactDigest: this.artifactDigest,
      layerDigest: task.key,
      subjectDigest: s.digest,
      repositoryId: r.repositoryId,
      kind,
      format: signatureFormat(task),
      status: result.status,
      reason: result.reason,
      message: result.message.slice(0, 2000),
      identity: facts.identity ?? null,
      issuer: facts.issuer ?? null,
      keyId: facts.keyId ?? null,
      authority: authority?.name ?? null,
      tlogIndex: facts.tlogIndex ?? null,
      integratedTime: facts.integratedTime ?? null,
      policyVersion: this.policy.version,
    });
  }

  private attestationError(task: LayerTask, s: SubjectContext, why: string): void {
    this.out.attestations.push({
      artifactDigest: this.artifactDigest,
      layerDigest: task.key,
      subjectDigest: s.digest,
      predicateType: this.declaredPredicateType(task) ?? 'unknown',
      statement: null,
      parseError: why.slice(0, 2000),
    });
  }

  private sbomError(task: LayerTask, s: SubjectContext, why: string): void {
    this.out.sboms.push({
      artifactDigest: this.artifactDigest,
      layerDigest: task.key,
      subjectDigest: s.digest,
      format: /cyclonedx/i.test(task.layer.mediaType)
        ? 'cyclonedx'
        : /spdx/i.test(task.layer.mediaType)
          ? 'spdx'
          : 'unknown',
      specVersion: null,
      name: null,
      parseError: why.slice(0, 2000),
      packages: [],
    });
  }

  private declaredPredicateType(task: LayerTask): string | undefined {
    const a = task.layer.annotations ?? {};
    return (
      a['in-toto.io/predicate-type'] ??
      a.predicateType ??
      this.annotations['dev.sigstore.bundle.predicateType']
    );
  }
}

const UNSIGNED_LAYER: Carrier = { predicateType: null, signed: false };

function isSignatureAction(task: LayerTask): boolean {
  return task.action !== 'in-toto' && task.action !== 'sbom' && task.action !== 'vulnerability';
}

function signatureFormat(task: LayerTask): string {
  switch (task.action) {
    case 'sigstore-bundle':
      return 'sigstore-bundle';
    case 'cosign-simplesigning':
      return 'cosign';
    case 'cosign-dsse':
      return 'cosign-dsse';
    case 'notation-jws':
      return 'notation-jws';
    case 'notation-cose':
      return 'notation-cose';
    case 'in-toto':
    case 'sbom':
    case 'vulnerability':
      return task.action;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
