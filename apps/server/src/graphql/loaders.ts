import DataLoader from 'dataloader';
import { indexBy, type JudgedFinding, type Reader, type VexMode } from '#answers';
import type {
  ArtifactRow,
  AttestationRow,
  Location,
  PackageRow,
  ReferrerKindFilter,
  ReferrerRow,
  SbomRow,
  SignatureRow,
} from '#store';
import { listCap } from './limits.js';

export interface ReferrerArgs {
  artifactType?: string;
  kind?: ReferrerKindFilter;
  after?: string;
  /** Rows per subject; callers ask for one more than they show to learn whether a page follows. */
  limit: number;
}

export interface PackageArgs {
  query?: string;
  after?: number;
  limit: number;
}

export interface FindingArgs {
  after?: number;
  limit: number;
  vex: VexMode;
}

type Child = { digest: string; descriptor: unknown };
type FindingRows = Array<{ id: number; finding: JudgedFinding }>;

function groupBy<T>(keys: readonly string[], rows: T[], key: (r: T) => string): T[][] {
  const by = indexBy(rows, key);
  return keys.map((k) => by.get(k) ?? []);
}

/**
 * Per-request batching: each loader turns the keys one GraphQL level asks for into one call of the
 * caller's reader (one SQL statement, the caller's scope applied inside it). Never shared across
 * requests. Lists that are not paged are capped at the LIST_CAPS the cost rule assumes (limits.ts).
 */
export class GraphLoaders {
  private readonly referrerLoaders = new Map<string, DataLoader<string, ReferrerRow[]>>();
  private readonly packageLoaders = new Map<string, DataLoader<number, Array<PackageRow & { id: number }>>>();
  private readonly findingLoaders = new Map<string, DataLoader<string, FindingRows>>();
  private readonly options: { cache: boolean };
  private readonly rows: DataLoader<string, ArtifactRow | null>;
  private readonly locations: DataLoader<string, Location[]>;
  private readonly childLoader: DataLoader<string, Child[]>;
  private readonly parentLoader: DataLoader<string, Child[]>;
  private readonly signaturesBySubject: DataLoader<string, SignatureRow[]>;
  private readonly signaturesByArtifact: DataLoader<string, SignatureRow[]>;
  private readonly attestationsBySubject: DataLoader<string, AttestationRow[]>;
  private readonly attestationsByArtifact: DataLoader<string, AttestationRow[]>;
  private readonly sbomLoader: DataLoader<string, SbomRow[]>;

  constructor(
    readonly reader: Reader,
    opts: { cache?: boolean } = {},
  ) {
    const graph = reader.graph;
    this.options = { cache: opts.cache ?? true };
    this.rows = this.loader(async (keys) => {
      const found = new Map((await graph.artifacts([...keys])).map((a) => [a.digest, a]));
      return keys.map((k) => found.get(k) ?? null);
    });
    this.locations = this.loader(async (keys) => {
      const found = await graph.locations(
        [...keys],
        listCap('Artifact.repositories'),
        listCap('ArtifactLocation.tags'),
      );
      return keys.map((k) => found.get(k) ?? []);
    });
    this.childLoader = this.loader(async (keys) =>
      groupBy(keys, await graph.children([...keys], listCap('Artifact.children')), (r) => r.parent),
    );
    this.parentLoader = this.loader(async (keys) =>
      groupBy(keys, await graph.parents([...keys], listCap('Artifact.parents')), (r) => r.child).map((list) =>
        list.map((r) => ({ digest: r.digest, descriptor: null })),
      ),
    );
    const verifications = (by: 'subject' | 'artifact') =>
      this.loader<string, SignatureRow[]>(async (keys) =>
        groupBy(
          keys,
          await graph.signatures([...keys], {
            by,
            // Over a subject: its signatures; of an artifact: whatever its envelope verified as.
            kind: by === 'subject' ? 'signature' : undefined,
            limit: listCap(by === 'subject' ? 'Artifact.signatures' : 'Artifact.verification'),
          }),
          (r) => (by === 'subject' ? r.subjectDigest : r.artifactDigest),
        ),
      );
    this.signaturesBySubject = verifications('subject');
    this.signaturesByArtifact = verifications('artifact');
    this.attestationsBySubject = this.loader(async (keys) =>
      groupBy(
        keys,
        await graph.attestations([...keys], 'subject', listCap('Artifact.attestations')),
        (r) => r.subjectDigest,
      ),
    );
    this.attestationsByArtifact = this.loader(async (keys) =>
      groupBy(
        keys,
        await graph.attestations([...keys], 'artifact', listCap('Artifact.statements')),
        (r) => r.artifactDigest,
      ),
    );
    this.sbomLoader = this.loader(async (keys) =>
      groupBy(keys, await graph.sboms([...keys], listCap('Artifact.sboms')), (r) => r.subjectDigest),
    );
  }

  private loader<K, V>(batch: (keys: readonly K[]) => Promise<V[]>): DataLoader<K, V> {
    return new DataLoader<K, V>(batch, { cache: this.options.cache, maxBatchSize: 1000 });
  }

  /** The artifact when it is present in a repository the caller may read. */
  artifact(digest: string): Promise<ArtifactRow | null> {
    return this.rows.load(digest);
  }

  /** Rows read by a scoped query: known to exist and to be visible, so later loads cost nothing. */
  seen(row: ArtifactRow): void {
    this.rows.prime(row.digest, row);
  }

  where(digest: string): Promise<Location[]> {
    return this.locations.load(digest);
  }

  referrers(subject: string, args: ReferrerArgs): Promise<ReferrerRow[]> {
    const key = JSON.stringify([args.artifactType, args.kind, args.after, args.limit]);
    let l = this.referrerLoaders.get(key);
    if (!l) {
      l = this.loader(async (keys) => {
        const rows = await this.reader.graph.referrerPages({ ...args, subjects: [...keys] });
        for (const r of rows) {
          if (r.artifact) this.seen(r.artifact);
          // The rows carry the referrers' signatures: their `signatures` fields need no statement
          // (a loader without a cache ignores this and loads them).
          this.signaturesBySubject.prime(r.digest, r.signatures);
        }
        return groupBy(keys, rows, (r) => r.subject);
      });
      this.referrerLoaders.set(key, l);
    }
    return l.load(subject);
  }

  children(digest: string): Promise<Child[]> {
    return this.childLoader.load(digest);
  }

  parents(digest: string): Promise<Child[]> {
    return this.parentLoader.load(digest);
  }

  signatures(digest: string, by: 'subject' | 'artifact'): Promise<SignatureRow[]> {
    return (by === 'subject' ? this.signaturesBySubject : this.signaturesByArtifact).load(digest);
  }

  attestations(digest: string, by: 'subject' | 'artifact'): Promise<AttestationRow[]> {
    return (by === 'subject' ? this.attestationsBySubject : this.attestationsByArtifact).load(digest);
  }

  sboms(subject: string): Promise<SbomRow[]> {
    return this.sbomLoader.load(subject);
  }

  /** Findings about an image, batched over images; aliases and statements cut to their LIST_CAPS. */
  findings(subject: string, args: FindingArgs): Promise<FindingRows> {
    const key = JSON.stringify([args.after, args.limit, args.vex]);
    let l = this.findingLoaders.get(key);
    if (!l) {
      l = this.loader(async (keys) => {
        const rows = await this.reader.graph.findings([...keys], args);
        return groupBy(keys, rows, (r) => r.image).map((list) =>
          list.map((r) => ({ id: r.id, finding: capFinding(r.finding) })),
        );
      });
      this.findingLoaders.set(key, l);
    }
    return l.load(subject);
  }

  packages(sbomId: number, args: PackageArgs): Promise<Array<PackageRow & { id: number }>> {
    const key = JSON.stringify([args.query, args.after, args.limit]);
    let l = this.packageLoaders.get(key);
    if (!l) {
      l = new DataLoader<number, Array<PackageRow & { id: number }>>(
        async (ids) => {
          const rows = await this.reader.graph.sbomPackages([...ids], args);
          const by = new Map<number, Array<PackageRow & { id: number }>>();
          for (const r of rows) by.set(r.sbomId, [...(by.get(r.sbomId) ?? []), r]);
          return ids.map((id) => by.get(id) ?? []);
        },
        { cache: this.options.cache },
      );
      this.packageLoaders.set(key, l);
    }
    return l.load(sbomId);
  }
}

/** A finding as GraphQL may return it: the lists the cost rule counts at their cap, cut to it. */
export function capFinding(f: JudgedFinding): JudgedFinding {
  return {
    ...f,
    aliases: f.aliases.slice(0, listCap('VulnerabilityFinding.aliases')),
    // The newest statements: they decide, and the list is oldest first.
    statements: f.statements.slice(-listCap('VulnerabilityFinding.statements')),
  };
}
