import type { InTotoStatement } from './intoto.js';

/** What refgraph keeps of an in-toto statement besides the statement itself. */
export interface AttestationSummary {
  predicateType: string;
  builderId?: string;
  buildType?: string;
  sourceRepo?: string;
  sourceRevision?: string;
  /** Vulnerability counts by lowercase severity, or VEX statement counts by status. */
  vulnCounts?: Record<string, number>;
}

export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
const BUILDKIT_METADATA = 'https://mobyproject.org/buildkit@v1#metadata';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function path(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) cur = obj(cur)?.[k];
  return cur;
}

export function summarizeStatement(st: InTotoStatement): AttestationSummary {
  const summary: AttestationSummary = { predicateType: st.predicateType };
  const p = st.predicate;
  if (st.predicateType === SLSA_PROVENANCE_V02) Object.assign(summary, provenanceV02(p));
  else if (st.predicateType === SLSA_PROVENANCE_V1) Object.assign(summary, provenanceV1(p));
  const counts = vulnerabilityCounts(p) ?? vexCounts(p);
  if (counts) summary.vulnCounts = counts;
  return dropUndefined(summary);
}

/** SLSA v0.2: builder.id, buildType, invocation.configSource (uri, digest). */
function provenanceV02(p: unknown): Partial<AttestationSummary> {
  const configSource = obj(path(p, 'invocation', 'configSource'));
  const uri = str(configSource?.uri);
  const vcs = obj(path(p, 'metadata', BUILDKIT_METADATA, 'vcs'));
  const source = uri ? splitSource(uri) : undefined;
  return {
    builderId: str(path(p, 'builder', 'id')),
    buildType: str(path(p, 'buildType')),
    sourceRepo: source?.repo ?? normalizeRepo(str(vcs?.source)),
    sourceRevision:
      str(path(configSource, 'digest', 'sha1')) ??
      str(path(configSource, 'digest', 'gitCommit')) ??
      source?.ref ??
      str(vcs?.revision),
  };
}

/**
 * SLSA v1.0–v1.2 (one predicate type, `https://slsa.dev/provenance/v1`, for every minor version):
 * runDetails.builder.id, buildDefinition.buildType; the source from GitHub's
 * externalParameters.workflow, else an externalParameters `source` URI, else the first git
 * dependency (the one of the workflow's repository when there are several), else BuildKit's vcs
 * metadata. The revision is the git dependency's commit digest, else the ref its URI names.
 */
function provenanceV1(p: unknown): Partial<AttestationSummary> {
  const def = obj(path(p, 'buildDefinition'));
  const params = obj(def?.externalParameters);
  const workflow = obj(params?.workflow);
  const paramSource = str(params?.source) ? splitSource(str(params?.source)!) : undefined;
  const workflowRepo = normalizeRepo(str(workflow?.repository)) ?? paramSource?.repo;
  const deps = (Array.isArray(def?.resolvedDependencies) ? def.resolvedDependencies : []).map(obj);
  const gitDeps = deps.filter((d) => isGitDependency(d));
  const git =
    gitDeps.find((d) => workflowRepo !== undefined && splitSource(str(d?.uri) ?? '').repo === workflowRepo) ??
    gitDeps[0];
  const gitSource = git ? splitSource(str(git.uri) ?? '') : undefined;
  const vcs = obj(path(p, 'runDetails', 'metadata', 'buildkit_metadata', 'vcs'));
  return {
    builderId: str(path(p, 'runDetails', 'builder', 'id')),
    buildType: str(def?.buildType),
    sourceRepo: workflowRepo ?? gitSource?.repo ?? normalizeRepo(str(vcs?.source)),
    sourceRevision:
      str(path(git, 'digest', 'gitCommit')) ??
      str(path(git, 'digest', 'sha1')) ??
      gitSource?.ref ??
      paramSource?.ref ??
      str(vcs?.revision),
  };
}

/** A git source: a `git+` or `.git` URI, or any URI whose digest is a git commit. */
function isGitDependency(d: Record<string, unknown> | undefined): boolean {
  if (!d) return false;
  const uri = str(d.uri) ?? '';
  return /^git\+|\.git(#|@|$)/.test(uri) || (uri !== '' && str(path(d, 'digest', 'gitCommit')) !== undefined);
}

/** `git+https://host/org/repo@refs/heads/main` or `https://host/org/repo.git#<sha>` → repo and ref. */
function splitSource(uri: string): { repo?: string; ref?: string } {
  let rest = uri.replace(/^git\+/, '');
  let ref: string | undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    ref = rest.slice(hash + 1) || undefined;
    rest = rest.slice(0, hash);
  }
  // The ref follows the first "@" in the path (it may contain slashes: refs/heads/main).
  const scheme = rest.indexOf('://');
  const pathStart = rest.indexOf('/', scheme >= 0 ? scheme + 3 : 0);
  const at = pathStart >= 0 ? rest.indexOf('@', pathStart) : -1;
  if (at >= 0) {
    ref ??= rest.slice(at + 1) || undefined;
    rest = rest.slice(0, at);
  }
  return { repo: normalizeRepo(rest), ref };
}

function normalizeRepo(repo: string | undefined): string | undefined {
  return repo ? repo.replace(/^git\+/, '').replace(/\.git$/, '') : undefined;
}

/**
 * Trivy-style reports (`Results[].Vulnerabilities[].Severity`), bare or wrapped as cosign's vuln
 * predicate (`scanner.result`); also SARIF-less generic `vulnerabilities[].severity` lists.
 */
function vulnerabilityCounts(p: unknown): Record<string, number> | undefined {
  const report = obj(path(p, 'scanner', 'result')) ?? obj(p);
  if (!report) return undefined;
  const severities: string[] = [];
  if (Array.isArray(report.Results)) {
    for (const r of report.Results) {
      const vulns = obj(r)?.Vulnerabilities;
      if (Array.isArray(vulns)) for (const v of vulns) severities.push(str(obj(v)?.Severity) ?? 'unknown');
    }
  } else if (Array.isArray(report.vulnerabilities)) {
    for (const v of report.vulnerabilities) {
      const o = obj(v);
      const rating = Array.isArray(o?.ratings) ? str(obj(o.ratings[0])?.severity) : undefined;
      severities.push(str(o?.severity) ?? rating ?? 'unknown');
    }
  } else if (!Array.isArray(path(p, 'scanner', 'result', 'Results'))) {
    return undefined;
  }
  return tally(severities);
}

/** OpenVEX documents: statement counts by status (affected, not_affected, fixed, under_investigation). */
function vexCounts(p: unknown): Record<string, number> | undefined {
  const doc = obj(p);
  if (!doc || !str(doc['@context'])?.includes('openvex') || !Array.isArray(doc.statements)) return undefined;
  return tally(doc.statements.map((s) => str(obj(s)?.status) ?? 'unknown'));
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) {
    const k = v.toLowerCase();
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
