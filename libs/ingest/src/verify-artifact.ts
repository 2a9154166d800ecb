import { describeError, isRetryable } from './errors.js';
import { ManifestError, parseManifest, type ParsedManifest } from '#oci';
import type { ArtifactPlace, ReferrerSubject, TrustRepository } from '#store';
import { maxLayerBytes, planLayers, type CurrentTrust, type LayerTask, type TrustPolicy } from '#verify';
import {
  type ArtifactLimits,
  DEFAULT_LIMITS,
  distinctTasks,
  layerCapReason,
  PackageBudget,
  VulnerabilityBudget,
} from './artifact-caps.js';
import type { LogSampler } from './log-sampler.js';
import { RecordBuilder, type SubjectContext } from './trust-records.js';

/** Reads layer blobs from a configured registry, checking digest and size. */
export interface BlobSource {
  fetchBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer>;
}

export interface VerifyOutcome {
  status: 'done' | 'skipped';
  note?: string;
  signatures: number;
  attestations: number;
  sboms: number;
  /** Vulnerability report and VEX document rows (one per layer and subject). */
  vulnerabilities?: number;
  /** Signature rows written, by status (`verified`, `failed`, …). */
  statuses?: Record<string, number>;
}

const TRUST_KINDS = new Set(['signature', 'attestation', 'sbom', 'vulnerability']);

interface ErrorWithCode {
  code?: unknown;
  message?: unknown;
}

/**
 * The follow-up job of a signature, attestation or SBOM artifact: fetch its layers from a registry
 * it is present in, verify and parse them against every subject the graph links it to, and store
 * one verification row per (artifact, layer, subject, repository linking them) and one attestation
 * or SBOM row per (artifact, layer, subject). Idempotent: rows are upserted, so a re-run (new
 * subject, new repository, new trust policy) replaces earlier outcomes.
 */
export class ArtifactVerifier {
  constructor(
    private readonly trust: TrustRepository,
    /** Read once per run: a job's rows all come from one policy, root and version together. */
    private readonly current: Pick<CurrentTrust, 'policy'>,
    private readonly blobs: (registryId: number) => BlobSource | undefined,
    private readonly limits: ArtifactLimits = DEFAULT_LIMITS,
    /**
     * One line per outcome (rate-limited). Results at info: they are what policy answers are
     * read from, so "why denied" starts here. Skips at debug: "no subject yet" is the ordinary
     * state of a signature pushed before its image, and its job runs again when the edge comes.
     */
    private readonly log?: LogSampler,
  ) {}

  get policyVersion(): string {
    return this.current.policy.version;
  }

  /** Throws only when trying again may help (registry unavailable or rate limiting). */
  async run(digest: string): Promise<VerifyOutcome> {
    let out: VerifyOutcome;
    try {
      out = await this.verifyUnderCurrentPolicy(digest);
    } catch (err) {
      const error = describeError(err);
      this.log?.write('warn', { digest, outcome: 'retrying', error }, 'artifact not verified');
      throw err;
    }
    const { status, ...counts } = out;
    this.log?.write(
      status === 'done' ? 'info' : 'debug',
      { digest, outcome: status, ...counts },
      'artifact verified',
    );
    return out;
  }

  /**
   * A policy replaced while the job ran (a trusted root refresh) may have re-queued stale rows
   * before this job stored its own, which the re-queue then never saw: the job runs again under
   * the new policy, so no row is left behind under a superseded version.
   */
  private async verifyUnderCurrentPolicy(digest: string): Promise<VerifyOutcome> {
    for (;;) {
      const policy = this.current.policy;
      const out = await this.verify(digest, policy);
      if (this.current.policy === policy) return out;
    }
  }

  private async verify(digest: string, policy: TrustPolicy): Promise<VerifyOutcome> {
    const artifact = await this.trust.findArtifact(digest);
    if (!artifact || !TRUST_KINDS.has(artifact.kind))
      return skipped('not a signature, attestation, SBOM or vulnerability document');
    let manifest: ParsedManifest;
    try {
      manifest = parseManifest(artifact.manifest, artifact.digest, artifact.mediaType);
    } catch (err) {
      // Stored bytes that do not parse never will: trying again cannot help.
      if (err instanceof ManifestError) return skipped(`stored manifest is unreadable: ${err.message}`);
      throw err;
    }
    const subjects = this.subjects(manifest, await this.trust.findSubjects(digest), policy);
    if (subjects.length === 0) return skipped('no subject yet');
    const tasks = distinctTasks(planLayers(manifest));
    if (tasks.length === 0) return skipped('no layer to verify or parse');

    const builder = new RecordBuilder(policy, digest, manifest.annotations);
    // Caps (README "Attestations and SBOMs"): too many layers is recorded once, on the first.
    const tooMany = layerCapReason(manifest.layers.length, this.limits);
    if (tooMany) builder.unreadable(tasks[0]!, subjects, tooMany);
    const packages = new PackageBudget(this.limits.packagesPerArtifact);
    const entries = new VulnerabilityBudget();
    const places = tooMany ? [] : await this.trust.findPlaces(digest);
    const blobs = new Map<string, { blob: Buffer } | { error: string }>();
    for (const task of tooMany ? [] : tasks) {
      const key = `${task.action} ${task.layer.digest}`;
      const fetched = blobs.get(key) ?? (await this.fetch(places, task));
      blobs.set(key, fetched);
      const from = builder.out.sboms.length;
      const fromVulnerabilities = builder.out.vulnerabilities.length;
      if ('error' in fetched) builder.unreadable(task, subjects, fetched.error);
      else builder.layer(task, fetched.blob, subjects);
      packages.admit(builder.out.sboms, from);
      entries.admit(builder.out.vulnerabilities, fromVulnerabilities);
    }
    const { signatures, attestations, sboms, vulnerabilities } = builder.out;
    await this.trust.upsertSignatures(signatures);
    await this.trust.upsertAttestations(attestations);
    for (const sbom of sboms) await this.trust.upsertSbom(sbom);
    for (const doc of vulnerabilities) await this.trust.upsertVulnerabilityDocument(doc);
    const statuses: Record<string, number> = {};
    for (const row of signatures) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    return {
      status: 'done',
      signatures: signatures.length,
      attestations: attestations.length,
      sboms: sboms.length,
      vulnerabilities: vulnerabilities.length,
      statuses,
    };
  }

  /**
   * One context per subject digest, listing every repository in which an edge links it to the
   * artifact: each gets its own result under its own trust rule, so a copy of the artifact in
   * another repository never changes the result where it was first pushed.
   */
  private subjects(
    manifest: ParsedManifest,
    edges: ReferrerSubject[],
    policy: TrustPolicy,
  ): SubjectContext[] {
    const bySubject = new Map<string, SubjectContext>();
    for (const e of edges) {
      let s = bySubject.get(e.subjectDigest);
      if (!s) {
        const descriptor = manifest.subject?.digest === e.subjectDigest ? manifest.subject : undefined;
        s = { digest: e.subjectDigest, repositories: [], ...(descriptor ? { descriptor } : {}) };
        bySubject.set(e.subjectDigest, s);
      }
      s.repositories.push({
        repositoryId: e.repositoryId,
        scope: `${e.registry}/${e.repository}`,
        rule: policy.ruleFor(e.registry, e.repository),
      });
    }
    return [...bySubject.values()];
  }

  private async fetch(
    places: ArtifactPlace[],
    task: LayerTask,
  ): Promise<{ blob: Buffer } | { error: string }> {
    const max = maxLayerBytes(task.action);
    if (task.layer.size > max) {
      return {
        error: `layer is ${task.layer.size} bytes, over the ${max}-byte limit for ${task.action} layers`,
      };
    }
    let lastError = 'the artifact is not present in any configured registry';
    for (const place of places) {
      const source = this.blobs(place.registryId);
      if (!source) continue;
      try {
        return { blob: await source.fetchBlob(place.repository, task.layer.digest, max) };
      } catch (err) {
        // A registry that is down or busy: the job runs again. Anything else is this place's answer.
        if (isRetryable(err)) throw err;
        const e = err as ErrorWithCode;
        lastError = `${typeof e?.code === 'string' ? `${e.code}: ` : ''}${String(e?.message ?? err)}`;
      }
    }
    return { error: lastError };
  }
}

function skipped(note: string): VerifyOutcome {
  return { status: 'skipped', note, signatures: 0, attestations: 0, sboms: 0 };
}
