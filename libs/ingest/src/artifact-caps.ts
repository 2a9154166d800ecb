// What one signature, attestation or SBOM artifact may cost the verifier: layers, packages, repeats.
import { DEFAULT_LIMITS, type LimitsConfig } from '#config';
import type { SbomRecord, VulnerabilityDocumentRecord } from '#store';
import type { LayerTask } from '#verify';

export type ArtifactLimits = Pick<LimitsConfig, 'layersPerArtifact' | 'packagesPerArtifact'>;
export { DEFAULT_LIMITS };

/** Why an artifact with `layers` layers is not read, or null when it is within the cap. */
export function layerCapReason(layers: number, limits: ArtifactLimits): string | null {
  return layers > limits.layersPerArtifact
    ? `artifact has ${layers} layers, over the limit of ${limits.layersPerArtifact} (limits.layersPerArtifact)`
    : null;
}

/**
 * Layers worth processing: a repeated digest is processed once. Documents (SBOMs, in-toto
 * statements) are content-only, so a repeat yields nothing new; a repeated signature layer counts
 * again only with different annotations (cosign keeps each signature in them, so two signatures
 * over one payload share a digest).
 */
export function distinctTasks(tasks: LayerTask[]): LayerTask[] {
  const seen = new Set<string>();
  return tasks.filter((t) => {
    const content = t.action === 'sbom' || t.action === 'in-toto' || t.action === 'vulnerability';
    const key = `${t.action} ${t.layer.digest}${content ? '' : ` ${JSON.stringify(t.layer.annotations ?? {})}`}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Package rows stored for one artifact, summed over its layers and subjects. A layer whose
 * documents would pass the cap keeps its SBOM rows but without packages, with the reason as the
 * parse error; layers already counted stay as they are.
 */
export class PackageBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Applies the cap to the records one layer added (`records` from index `from` on). */
  admit(records: SbomRecord[], from: number): void {
    const added = records.slice(from);
    const n = added.reduce((sum, r) => sum + r.packages.length, 0);
    if (this.used + n <= this.limit) {
      this.used += n;
      return;
    }
    const reason =
      `SBOM not stored: ${this.used + n} package rows for this artifact, over the limit of ` +
      `${this.limit} (limits.packagesPerArtifact)`;
    records.splice(from, added.length, ...added.map((r) => ({ ...r, packages: [], parseError: reason })));
  }
}

/** Finding and statement rows stored for one artifact, summed over its layers and subjects. */
export const MAX_VULNERABILITY_ROWS_PER_ARTIFACT = 200_000;

/**
 * Like PackageBudget for vulnerability documents: a layer whose documents would pass the cap keeps
 * its rows without entries, with the reason as the parse error (a partial list could hide findings).
 */
export class VulnerabilityBudget {
  private used = 0;

  constructor(private readonly limit = MAX_VULNERABILITY_ROWS_PER_ARTIFACT) {}

  admit(records: VulnerabilityDocumentRecord[], from: number): void {
    const added = records.slice(from);
    const n = added.reduce((sum, r) => sum + r.findings.length + r.statements.length, 0);
    if (this.used + n <= this.limit) {
      this.used += n;
      return;
    }
    const reason =
      `not stored: ${this.used + n} finding and statement rows for this artifact, over the limit of ` +
      `${this.limit}`;
    records.splice(
      from,
      added.length,
      ...added.map((r) => ({
        ...r,
        kind: 'unknown' as const,
        findings: [],
        statements: [],
        parseError: reason,
      })),
    );
  }
}
