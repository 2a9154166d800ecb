// The referrers answer as a tree: bounded by depth and node count, whatever the graph's shape.
import type { AttestationRow, ReferrerEdgeRow, SignatureRow } from '#store';
import type { ReferrerNode } from './answers.js';

/** Nodes one referrers answer may hold, whatever the shape of the graph. */
export const MAX_TREE_NODES = 10_000;

/**
 * The rows as a tree under `root`, at most `depth` levels deep. A referrer reachable along several
 * paths is expanded once, where it is nearest to the root (breadth first); elsewhere it appears
 * without its own referrers. So the answer grows with the edges, never with the paths.
 */
export function buildTree(
  root: string,
  rows: ReferrerEdgeRow[],
  verifications: SignatureRow[],
  attestations: AttestationRow[],
  depth: number,
): ReferrerNode[] {
  const bySubject = new Map<string, ReferrerEdgeRow[]>();
  for (const r of rows) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
  const expanded = new Set<string>([root]);
  let budget = MAX_TREE_NODES;
  const node = (r: ReferrerEdgeRow, subject: string): ReferrerNode => ({
    digest: r.digest,
    edgeKind: r.edgeKind,
    mediaType: r.artifact?.mediaType ?? r.descriptor?.mediaType ?? null,
    artifactType: r.artifact?.artifactType ?? r.descriptor?.artifactType ?? null,
    kind: r.artifact?.kind ?? 'unknown',
    size: r.artifact?.size ?? r.descriptor?.size ?? null,
    annotations: r.artifact?.annotations ?? r.descriptor?.annotations ?? {},
    verification: verifications.filter((s) => s.artifactDigest === r.digest && s.subjectDigest === subject),
    attestations: attestations.filter((a) => a.artifactDigest === r.digest),
    referrers: [],
  });
  const top: ReferrerNode[] = [];
  // Breadth first: each level's nodes, and the subjects whose referrers the next level lists.
  let level: Array<{ subject: string; into: ReferrerNode[] }> = [{ subject: root, into: top }];
  for (let d = 1; d <= depth && level.length > 0 && budget > 0; d++) {
    const next: typeof level = [];
    for (const { subject, into } of level) {
      for (const r of bySubject.get(subject) ?? []) {
        if (budget-- <= 0) break;
        const n = node(r, subject);
        into.push(n);
        if (!expanded.has(r.digest)) {
          expanded.add(r.digest);
          next.push({ subject: r.digest, into: n.referrers });
        }
      }
    }
    level = next;
  }
  return top;
}
