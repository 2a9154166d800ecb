import type { PolicyConfig } from '#config';
import type { RegistryCatalog } from '#ingest';
import { normalisePurl } from '#verify';
import type {
  ArtifactRow,
  AttestationRow,
  PackageRow,
  ReadRepository,
  ReferrerKindFilter,
  RegistrySummaryRow,
  SignatureRow,
} from '#store';
import type { ArtifactSummary, ReferrersPage, Resolved } from './answer-types.js';
import { NotFoundError } from './errors.js';
import { buildTree } from './referrer-tree.js';
import { GraphReader } from './graph-reader.js';
import {
  formatReference,
  parseImageReference,
  parseReference,
  ReferenceError,
  servesHost,
  type Reference,
} from './reference.js';
import { evaluateSubjects, type Verdict } from './verdict.js';
import type { VexMode } from './vex.js';
import {
  imageFindings,
  vulnerableImages,
  type JudgedFinding,
  type VulnerableImagesPage,
} from './vulnerabilities.js';
import type { Viewer } from './viewer.js';

export type { ArtifactSummary, ReferrerNode, ReferrersPage, Resolved } from './answer-types.js';

/** Hard caps of the REST answers' lists that are not paged (GraphQL uses its own LIST_CAPS). */
export const LIST_LIMITS = { children: 1000, parents: 1000, verifications: 1000, locations: 1000 };

/**
 * The read model: the only way to read the graph. `for(viewer)` returns a reader bound to the
 * caller's scope; no read can be made without one.
 */
export class Answers {
  constructor(
    private readonly read: ReadRepository,
    private readonly catalog: RegistryCatalog,
    private readonly policies: readonly PolicyConfig[] = [],
    /**
     * The trust policy's version in force (it changes when the trusted root is refreshed): results
     * stored under another are not evidence. Asked after the results are read, never before.
     */
    private readonly trustVersion: () => string,
  ) {}

  for(viewer: Viewer): Reader {
    return new Reader(this.read, this.catalog, this.policies, viewer, this.trustVersion);
  }
}

/** Every answer a caller can get, each applying the caller's scope. */
export class Reader {
  /** Batch reads behind the GraphQL loaders, under the same scope. */
  readonly graph: GraphReader;

  constructor(
    private readonly read: ReadRepository,
    private readonly catalog: RegistryCatalog,
    private readonly policies: readonly PolicyConfig[],
    readonly viewer: Viewer,
    private readonly trustVersion: () => string,
  ) {
    this.graph = new GraphReader(read, viewer, trustVersion);
  }

  private get scope() {
    return this.viewer.scope;
  }

  /** One reference to a digest the caller may see (NotFoundError or ReferenceError otherwise). */
  async resolve(input: string): Promise<Resolved> {
    const [r] = await this.resolveAll([input]);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * Resolves many references with one tag lookup and one presence lookup (an admission request
   * names every image of a pod). Each input gets its answer or its own error. A reference resolves
   * only to a digest present where the caller may read: in the repository it names, or for a bare
   * digest in any repository in scope. Tags resolve from what refgraph recorded, in scope only.
   */
  async resolveAll(
    inputs: string[],
    opts: { images?: boolean } = {},
  ): Promise<Array<Resolved | ReferenceError | NotFoundError>> {
    const out: Array<Resolved | ReferenceError | NotFoundError> = [];
    const byTag: Array<{ at: number; ref: Reference }> = [];
    // A batch names few registries: each is looked up once.
    const registries = new Map<string, ReturnType<RegistryCatalog['byName']>>();
    const registryOf = (host: string) => {
      if (!registries.has(host))
        registries.set(
          host,
          // Images (pod specs) name the registry by host only; refgraph's own references by name,
          // or by host.
          opts.images
            ? this.catalog.all().find((e) => servesHost(e.config.url, host))
            : (this.catalog.byName(host) ??
                this.catalog.all().find((e) => new URL(e.config.url).host === host)),
        );
      return registries.get(host);
    };
    for (const input of inputs) {
      let ref: Reference;
      try {
        ref = opts.images ? parseImageReference(input) : parseReference(input);
      } catch (err) {
        if (!(err instanceof ReferenceError)) throw err;
        out.push(err);
        continue;
      }
      if (ref.registry !== undefined) {
        const host = ref.registry;
        const entry = registryOf(host);
        // Outside the caller's scope an unknown registry name reads like a known one: the answer
        // says nothing about which names are configured. (An image's host is no registry name: the
        // caller's own pod spec names it, and scopes cannot.)
        if (!entry && !opts.images && !this.viewer.mayRead(host, ref.repository!)) {
          out.push(
            new NotFoundError(`${formatReference(ref)} is outside this caller's read scope`, 'not_in_scope'),
          );
          continue;
        }
        if (!entry) {
          out.push(
            new NotFoundError(
              opts.images
                ? `no configured registry serves ${host} (the image's registry host)`
                : `no registry named "${host}" is configured`,
              'unknown_registry',
            ),
          );
          continue;
        }
        ref.registry = entry.config.name;
        if (!this.viewer.mayRead(ref.registry, ref.repository!)) {
          out.push(
            new NotFoundError(`${formatReference(ref)} is outside this caller's read scope`, 'not_in_scope'),
          );
          continue;
        }
      }
      if (!ref.digest) byTag.push({ at: out.length, ref });
      out.push({ reference: formatReference(ref), ...ref, digest: ref.digest ?? '' });
    }
    const digests = await this.read.findTags(
      this.scope,
      byTag.map(({ ref }) => ({ registry: ref.registry!, repository: ref.repository!, tag: ref.tag! })),
    );
    byTag.forEach(({ at, ref }, i) => {
      const digest = digests[i];
      out[at] = digest
        ? { reference: formatReference(ref), ...ref, digest }
        : new NotFoundError(
            `${formatReference(ref)} is not known (no tag ${ref.tag} is recorded)`,
            'unknown_tag',
          );
    });
    // A digest counts only where the caller may see it.
    const wanted = out.flatMap((r) => (r instanceof Error ? [] : [r.digest]));
    const where = await this.read.findLocations(this.scope, [...new Set(wanted)]);
    return out.map((r) => {
      if (r instanceof Error) return r;
      const here = where.get(r.digest) ?? [];
      const present = r.registry
        ? here.some((l) => l.registry === r.registry && l.repository === r.repository)
        : here.length > 0;
      return present ? r : new NotFoundError(`${r.reference} is not known`, 'unknown_digest');
    });
  }

  async registries(): Promise<RegistrySummaryRow[]> {
    return this.read.listRegistries(
      this.scope,
      this.catalog.all().map((e) => e.config.name),
    );
  }

  async summaries(digests: string[]): Promise<Map<string, ArtifactSummary>> {
    const scope = this.scope;
    const [artifacts, locations, signatures, attestations, sboms] = await Promise.all([
      this.read.findArtifacts(scope, digests),
      this.read.findLocations(scope, digests, LIST_LIMITS.locations),
      this.read.findSignatures(scope, digests, { by: 'subject', kind: 'signature' }),
      this.read.findAttestations(scope, digests, { by: 'subject' }),
      this.read.countSboms(scope, digests),
    ]);
    const out = new Map<string, ArtifactSummary>();
    for (const a of artifacts) {
      const sigs = signatures.filter((s) => s.subjectDigest === a.digest);
      const atts: Record<string, number> = {};
      for (const t of attestations.filter((x) => x.subjectDigest === a.digest)) {
        atts[t.predicateType] = (atts[t.predicateType] ?? 0) + 1;
      }
      out.set(a.digest, {
        ...toSummaryBase(a),
        locations: locations.get(a.digest) ?? [],
        signatures: {
          total: sigs.length,
          verified: sigs.filter((s) => s.status === 'verified').length,
          failed: sigs.filter((s) => s.status === 'failed').length,
          noAuthority: sigs.filter((s) => s.status === 'no_authority').length,
          pending: sigs.filter((s) => s.status === 'pending').length,
        },
        attestations: atts,
        sboms: sboms.get(a.digest) ?? 0,
      });
    }
    return out;
  }

  async summary(digest: string): Promise<ArtifactSummary> {
    const s = (await this.summaries([digest])).get(digest);
    if (!s) throw new NotFoundError(`artifact ${digest} is not known`);
    return s;
  }

  /** The caller may see the artifact (present in a repository in scope), or NotFoundError. */
  async requireVisible(digests: string[]): Promise<void> {
    const found = new Set((await this.read.findArtifacts(this.scope, digests)).map((a) => a.digest));
    const hidden = digests.find((d) => !found.has(d));
    if (hidden) throw new NotFoundError(`artifact ${hidden} is not known`);
  }

  async referrers(
    digest: string,
    opts: {
      depth: number;
      artifactType?: string;
      kind?: ReferrerKindFilter;
      after?: string;
      limit: number;
      children?: boolean;
    },
  ): Promise<ReferrersPage> {
    await this.requireVisible([digest]);
    const rows = await this.read.findReferrerTree(this.scope, {
      ...opts,
      subjects: [digest],
      limit: opts.limit + 1,
    });
    const firstLevel = rows.filter((r) => r.depth === 1 && r.subject === digest);
    const more = firstLevel.length > opts.limit;
    const keep = new Set(firstLevel.slice(0, opts.limit).map((r) => r.digest));
    const all = rows.filter((r) => r.depth > 1 || keep.has(r.digest));
    const nodeDigests = [...new Set(all.map((r) => r.digest))];
    const [byArtifact, attestations] = await Promise.all([
      this.read.findSignatures(this.scope, nodeDigests, { by: 'artifact' }),
      this.read.findAttestations(this.scope, nodeDigests, { by: 'artifact' }),
    ]);
    const page: ReferrersPage = {
      subject: digest,
      referrers: buildTree(digest, all, byArtifact, attestations, opts.depth),
      nextCursor: more ? [...keep].sort().at(-1)! : null,
    };
    if (opts.children) {
      page.children = (await this.read.findChildren(this.scope, [digest], LIST_LIMITS.children)).map((c) => {
        const d = (c.descriptor ?? {}) as { mediaType?: string; platform?: unknown };
        return { digest: c.digest, mediaType: d.mediaType, platform: d.platform };
      });
    }
    return page;
  }

  /** Signatures over the artifact (signed attestations are listed with the attestations). */
  async signatures(digest: string): Promise<SignatureRow[]> {
    await this.requireVisible([digest]);
    return this.read.findSignatures(this.scope, [digest], {
      by: 'subject',
      kind: 'signature',
      limit: LIST_LIMITS.verifications,
    });
  }

  /** Attestations about the artifact, each with the verification of its envelope. */
  async attestations(
    digest: string,
    predicateType?: string,
  ): Promise<Array<AttestationRow & { verification: SignatureRow[] }>> {
    await this.requireVisible([digest]);
    const rows = await this.read.findAttestations(this.scope, [digest], { by: 'subject', predicateType });
    const envelopes = await this.read.findSignatures(
      this.scope,
      [...new Set(rows.map((r) => r.artifactDigest))],
      { by: 'artifact', kind: 'attestation' },
    );
    return rows.map((r) => ({
      ...r,
      verification: envelopes.filter(
        (s) =>
          s.artifactDigest === r.artifactDigest &&
          s.layerDigest === r.layerDigest &&
          s.subjectDigest === r.subjectDigest,
      ),
    }));
  }

  /** SBOM packages of the artifact, paged by package id. */
  async packages(
    digest: string,
    opts: { query?: string; after?: number; limit: number },
  ): Promise<Array<PackageRow & { id: number; sbomId: number }>> {
    await this.requireVisible([digest]);
    return this.read.findSbomPackages(this.scope, { subject: digest }, opts);
  }

  /**
   * Artifacts whose visible SBOMs list the package, compared in canonical form: without a version
   * any version, with one that version (qualifiers only where the search names them).
   */
  searchPackages(purl: string, limit: number) {
    const n = normalisePurl(purl);
    return this.read.findArtifactsByPurl(
      this.scope,
      n ? { purl: n.purl, base: n.purlBase } : { purl, base: purl },
      limit,
    );
  }

  /**
   * Images in scope with a finding of the vulnerability (id or alias, any case), by digest, each
   * judged after VEX under `vex` (see ./vex.ts), with where it is found.
   */
  vulnerabilityArtifacts(
    vulnerabilityId: string,
    opts: { after?: string; limit: number; vex: VexMode },
  ): Promise<VulnerableImagesPage> {
    return vulnerableImages(this.vulnerabilityContext(), vulnerabilityId, {
      ...opts,
      locationLimit: LIST_LIMITS.locations,
    });
  }

  /** Findings of visible reports about the artifact, paged by finding id, each judged after VEX. */
  async vulnerabilities(
    digest: string,
    opts: { after?: number; limit: number; vex: VexMode },
  ): Promise<Array<{ id: number; finding: JudgedFinding }>> {
    await this.requireVisible([digest]);
    return imageFindings(this.vulnerabilityContext(), [digest], opts);
  }

  private vulnerabilityContext() {
    return { read: this.read, scope: this.scope, trustVersion: this.trustVersion };
  }

  /** The named policy's verdict for each input; every input gets an answer, failing closed. */
  async verdict(
    policyName: string,
    inputs: string[],
    opts: { images?: boolean } = {},
  ): Promise<Verdict | null> {
    const policy = this.policies.find((p) => p.name === policyName);
    if (!policy) return null;
    return evaluateSubjects(
      { read: this.read, viewer: this.viewer, trustVersion: this.trustVersion },
      policy,
      inputs,
      await this.resolveAll(inputs, opts),
    );
  }
}

function toSummaryBase(a: ArtifactRow) {
  return {
    digest: a.digest,
    mediaType: a.mediaType,
    artifactType: a.artifactType,
    kind: a.kind,
    size: a.size,
    subject: a.subjectDigest,
    annotations: a.annotations,
  };
}

export { ReferenceError };
