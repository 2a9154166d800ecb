import type { RegistryCatalog } from '#ingest';
import type {
  ArtifactRow,
  AttestationRow,
  Location,
  QueryRepository,
  ReferrerEdgeRow,
  ReferrerKindFilter,
  RepositoryScope,
  SignatureRow,
} from '#store';
import { formatReference, parseReference, ReferenceError, type Reference } from './reference.js';

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

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
  /** When this node is a signature: its verification outcome(s). */
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

/** Read-side use cases shared by REST, GraphQL and the CLI. */
export class Answers {
  constructor(
    private readonly query: QueryRepository,
    private readonly catalog: RegistryCatalog,
  ) {}

  /** Tag references resolve from stored tags; digests need no lookup. */
  async resolve(input: string): Promise<Resolved> {
    const [r] = await this.resolveAll([input]);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * Resolves many references with one lookup of stored tags (an admission request names every
   * image of a pod). Each input gets its answer or its own error (ReferenceError, NotFoundError).
   */
  async resolveAll(inputs: string[]): Promise<Array<Resolved | ReferenceError | NotFoundError>> {
    const out: Array<Resolved | ReferenceError | NotFoundError> = [];
    const byTag: Array<{ at: number; ref: Reference }> = [];
    for (const input of inputs) {
      let ref: Reference;
      try {
        ref = parseReference(input);
      } catch (err) {
        if (!(err instanceof ReferenceError)) throw err;
        out.push(err);
        continue;
      }
      if (ref.digest) {
        out.push({ reference: formatReference(ref), ...ref, digest: ref.digest });
        continue;
      }
      // Image strings from pod specs name the registry by host; refgraph's own references by name.
      const entry =
        this.catalog.byName(ref.registry!) ??
        this.catalog.all().find((e) => new URL(e.config.url).host === ref.registry);
      if (!entry) {
        out.push(new NotFoundError(`no registry named "${ref.registry}" is configured`));
        continue;
      }
      ref.registry = entry.config.name;
      byTag.push({ at: out.length, ref });
      out.push(new NotFoundError('unresolved'));
    }
    // Answered from stored tags only: the request path never waits on a registry.
    const digests = await this.query.findTags(
      byTag.map(({ ref }) => ({ registry: ref.registry!, repository: ref.repository!, tag: ref.tag! })),
    );
    byTag.forEach(({ at, ref }, i) => {
      const digest = digests[i];
      out[at] = digest
        ? { reference: formatReference(ref), ...ref, digest }
        : new NotFoundError(`${formatReference(ref)} is not known (no event or sync has recorded that tag)`);
    });
    return out;
  }

  async registries() {
    const configured = new Set(this.catalog.all().map((e) => e.config.name));
    return (await this.query.listRegistries()).filter((r) => configured.has(r.name));
  }

  async summaries(digests: string[], scope: RepositoryScope): Promise<Map<string, ArtifactSummary>> {
    const [artifacts, locations, signatures, attestations, sboms] = await Promise.all([
      this.query.findArtifacts(digests),
      this.query.findLocations(digests, scope),
      this.query.findSignatures(digests),
      this.query.findAttestations(digests),
      this.query.countSboms(digests),
    ]);
    const out = new Map<string, ArtifactSummary>();
    for (const a of artifacts) {
      const where = locations.get(a.digest) ?? [];
      // Outside the caller's scope an artifact does not exist for them.
      if (scope && where.length === 0) continue;
      const sigs = signatures.filter((s) => s.subjectDigest === a.digest);
      const atts: Record<string, number> = {};
      for (const t of attestations.filter((x) => x.subjectDigest === a.digest)) {
        atts[t.predicateType] = (atts[t.predicateType] ?? 0) + 1;
      }
      out.set(a.digest, {
        ...toSummaryBase(a),
        locations: where,
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

  async summary(digest: string, scope: RepositoryScope): Promise<ArtifactSummary> {
    const s = (await this.summaries([digest], scope)).get(digest);
    if (!s) throw new NotFoundError(`artifact ${digest} is not known`);
    return s;
  }

  async referrers(
    digest: string,
    opts: {
      depth: number;
      scope: RepositoryScope;
      artifactType?: string;
      kind?: ReferrerKindFilter;
      after?: string;
      limit: number;
      children?: boolean;
    },
  ): Promise<ReferrersPage> {
    const rows = await this.query.findReferrerTree({ ...opts, subjects: [digest], limit: opts.limit + 1 });
    const firstLevel = rows.filter((r) => r.depth === 1 && r.subject === digest);
    const more = firstLevel.length > opts.limit;
    const keep = new Set(firstLevel.slice(0, opts.limit).map((r) => r.digest));
    const all = rows.filter((r) => r.depth > 1 || keep.has(r.digest));
    const nodeDigests = [...new Set(all.map((r) => r.digest))];
    const [signatures, attestations] = await Promise.all([
      this.query.findSignatures(nodeDigests, 'artifact'),
      this.query.findAttestations(nodeDigests, { by: 'artifact' }),
    ]);
    const page: ReferrersPage = {
      subject: digest,
      referrers: buildTree(digest, all, signatures, attestations),
      nextCursor: more ? [...keep].sort().at(-1)! : null,
    };
    if (opts.children) {
      page.children = (await this.query.findChildren([digest], opts.scope)).map((c) => {
        const d = (c.descriptor ?? {}) as { mediaType?: string; platform?: unknown };
        return { digest: c.digest, mediaType: d.mediaType, platform: d.platform };
      });
    }
    return page;
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

function buildTree(
  root: string,
  rows: ReferrerEdgeRow[],
  signatures: SignatureRow[],
  attestations: AttestationRow[],
): ReferrerNode[] {
  const bySubject = new Map<string, ReferrerEdgeRow[]>();
  for (const r of rows) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
  const make = (subject: string, seen: Set<string>): ReferrerNode[] =>
    (bySubject.get(subject) ?? [])
      .filter((r) => !seen.has(r.digest))
      .map((r) => ({
        digest: r.digest,
        edgeKind: r.edgeKind,
        mediaType: r.artifact?.mediaType ?? r.descriptor?.mediaType ?? null,
        artifactType: r.artifact?.artifactType ?? r.descriptor?.artifactType ?? null,
        kind: r.artifact?.kind ?? 'unknown',
        size: r.artifact?.size ?? r.descriptor?.size ?? null,
        annotations: r.artifact?.annotations ?? r.descriptor?.annotations ?? {},
        verification: signatures.filter((s) => s.artifactDigest === r.digest && s.subjectDigest === subject),
        attestations: attestations.filter((a) => a.artifactDigest === r.digest),
        referrers: make(r.digest, new Set([...seen, r.digest])),
      }));
  return make(root, new Set([root]));
}

export { ReferenceError };
