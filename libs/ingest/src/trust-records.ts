import {
  CosignLegacyVerifier,
  BundleVerifier,
  DocumentError,
  IN_TOTO_PAYLOAD_TYPE,
  isSbomPredicateType,
  parseJsonDocument,
  parseSbom,
  parseStatement,
  summarizeStatement,
  verifyNotationEnvelope,
  type Authority,
  type InTotoStatement,
  type LayerTask,
  type TrustPolicy,
  type SignerFacts,
  type VerificationResult,
} from '#verify';
import type { Descriptor } from '#oci';
import type { AttestationRecord, SbomRecord, SignatureRecord } from '#store';

/** One subject of the artifact, with the authorities that count for it. */
export interface SubjectContext {
  digest: string;
  /** `<registry>/<repository>` whose trust rule applies; null when no pattern covers any. */
  scope: string | null;
  authorities: Authority[];
  /** The subject's descriptor when the referrer names it (OCI `subject`); notation binds to it. */
  descriptor?: Descriptor;
}

export interface Records {
  signatures: SignatureRecord[];
  attestations: AttestationRecord[];
  sboms: SbomRecord[];
}

const POLICY_MISMATCH = new Set(['identity_mismatch', 'issuer_mismatch', 'key_mismatch']);

/**
 * Turns one fetched layer into rows, one per subject. Pure apart from the verifiers (which are
 * synchronous computations), so the job around it only fetches and stores.
 */
export class RecordBuilder {
  private readonly bundles: BundleVerifier;
  private readonly cosign: CosignLegacyVerifier;

  constructor(
    private readonly policy: TrustPolicy,
    private readonly artifactDigest: string,
    private readonly annotations: Record<string, string>,
    readonly out: Records = { signatures: [], attestations: [], sboms: [] },
  ) {
    this.bundles = new BundleVerifier(policy.trustRoot);
    this.cosign = new CosignLegacyVerifier(policy.trustRoot);
  }

  /** A layer that could not be read (too large, missing, corrupt): its rows say so. */
  unreadable(task: LayerTask, subjects: SubjectContext[], why: string): void {
    for (const s of subjects) {
      if (isSignatureAction(task)) {
        this.signature(task, s, 'failed', { reason: 'bundle_malformed', message: why });
      } else if (task.action === 'sbom') {
        this.sbomError(task, s, why);
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
      case 'cosign-dsse': {
        const format = task.action === 'cosign-dsse' ? 'dsse' : 'simplesigning';
        for (const s of subjects) {
          this.decide(task, s, ['keyless', 'key'], (a) =>
            this.cosign.verify({
              format,
              blob,
              annotations: task.layer.annotations ?? {},
              subject: s.digest,
              policy: policyOf(a),
            }),
          );
        }
        if (format === 'dsse') this.statementFromEnvelope(task, blob, subjects);
        return;
      }
      case 'in-toto':
        return this.statement(task, () => parseStatement(blob), subjects);
      case 'sbom':
        return this.sbom(task, subjects, () => parseJsonDocument(blob, 'SBOM'));
      case 'notation-jws':
      case 'notation-cose':
        for (const s of subjects) {
          const subject = s.descriptor ?? { digest: s.digest, mediaType: '', size: -1 };
          this.decide(task, s, ['notation'], (a) =>
            a.kind === 'notation'
              ? verifyNotationEnvelope({
                  envelope: blob,
                  envelopeMediaType: task.layer.mediaType,
                  subject,
                  trust: { trustStore: a.trustStore, trustedIdentities: a.trustedIdentities },
                })
              : { status: 'failed', reason: 'unsupported', message: 'not a notation authority' },
          );
        }
        return;
    }
  }

  private sigstoreBundle(task: LayerTask, blob: Buffer, subjects: SubjectContext[]): void {
    for (const s of subjects) {
      this.decide(task, s, ['keyless', 'key'], (a) =>
        this.bundles.verify({ bundle: blob, artifact: { digest: s.digest }, policy: policyOf(a) }),
      );
    }
    let envelope: unknown;
    try {
      envelope = (parseJsonDocument(blob, 'Sigstore bundle') as { dsseEnvelope?: unknown }).dsseEnvelope;
    } catch {
      return; // the signature rows already say the bundle is malformed
    }
    if (envelope) this.statementFromEnvelope(task, Buffer.from(JSON.stringify(envelope)), subjects);
  }

  private statementFromEnvelope(task: LayerTask, envelopeJson: Buffer, subjects: SubjectContext[]): void {
    this.statement(
      task,
      () => {
        const env = parseJsonDocument(envelopeJson, 'DSSE envelope') as {
          payloadType?: unknown;
          payload?: unknown;
        };
        if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof env.payload !== 'string') {
          throw new DocumentError(
            `DSSE payload type ${JSON.stringify(env.payloadType ?? null)} is not an in-toto statement`,
          );
        }
        return parseStatement(Buffer.from(env.payload, 'base64'));
      },
      subjects,
    );
  }

  private statement(task: LayerTask, parse: () => InTotoStatement, subjects: SubjectContext[]): void {
    let st: InTotoStatement;
    try {
      st = parse();
    } catch (err) {
      for (const s of subjects) this.attestationError(task, s, errorText(err));
      return;
    }
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
      });
    }
    if (isSbomPredicateType(st.predicateType)) this.sbom(task, subjects, () => st.predicate);
  }

  private sbom(task: LayerTask, subjects: SubjectContext[], load: () => unknown): void {
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
          packages: doc.packages,
        });
      }
    } catch (err) {
      for (const s of subjects) this.sbomError(task, s, errorText(err));
    }
  }

  /** Tries each authority of a usable kind; the first verified wins (see README "Trust policy"). */
  private decide(
    task: LayerTask,
    s: SubjectContext,
    kinds: Authority['kind'][],
    attempt: (a: Authority) => VerificationResult,
  ): void {
    const candidates = s.authorities.filter((a) => kinds.includes(a.kind));
    if (candidates.length === 0) {
      const where = s.scope
        ? `the trust rule for ${s.scope} names`
        : 'no trust rule covers the repository, so there is';
      this.signature(task, s, 'no_authority', {
        reason: 'no_authority',
        message: `${where} no ${kinds.join(' or ')} authority`,
      });
      return;
    }
    let chosen: { result: VerificationResult; authority: Authority } | undefined;
    for (const authority of candidates) {
      const result = attempt(authority);
      if (result.status === 'verified') {
        chosen = { result, authority };
        break;
      }
      // A failure independent of who was expected (bad signature, untrusted chain) explains more
      // than "not this authority", so it is the one stored.
      if (!chosen || (POLICY_MISMATCH.has(chosen.result.reason) && !POLICY_MISMATCH.has(result.reason))) {
        chosen = { result, authority };
      }
    }
    const { result, authority } = chosen!;
    this.signature(task, s, result.status, { ...result, authority: authority.name });
  }

  private signature(
    task: LayerTask,
    s: SubjectContext,
    status: SignatureRecord['status'],
    r: SignerFacts & { reason: string; message: string; authority?: string },
  ): void {
    this.out.signatures.push({
      artifactDigest: this.artifactDigest,
      layerDigest: task.key,
      subjectDigest: s.digest,
      format: signatureFormat(task),
      status,
      reason: r.reason,
      message: r.message.slice(0, 2000),
      identity: r.identity ?? null,
      issuer: r.issuer ?? null,
      keyId: r.keyId ?? null,
      authority: r.authority ?? null,
      tlogIndex: r.tlogIndex ?? null,
      integratedTime: r.integratedTime ?? null,
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

function isSignatureAction(task: LayerTask): boolean {
  return task.action !== 'in-toto' && task.action !== 'sbom';
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
      return task.action;
  }
}

function policyOf(a: Authority) {
  return a.kind === 'notation' ? undefined : a.policy;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
