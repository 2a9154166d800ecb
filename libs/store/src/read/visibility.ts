// The one visibility rule of the read side, as SQL. Every read statement of ReadRepository builds
// its scope conditions from these fragments; nothing else in the code base decides in SQL what a
// caller may see.
import { compilePatterns } from '#config';
import type { RepositoryScope } from '../query.rows.js';

/**
 * A scope as one statement parameter: the regular expression of its repository patterns (the same
 * source the in-memory matcher uses), or '' for a caller who may read every repository.
 */
export function scopeParam(scope: RepositoryScope): string {
  if (scope === undefined) return '';
  const key = scope.join('\n');
  const known = compiledScopes.get(scope);
  if (known?.key === key) return known.sql;
  const sql = compilePatterns(scope).sql;
  compiledScopes.set(scope, { key, sql });
  return sql;
}

/**
 * A request's statements share its scope array (the principal's, from the config): compiled once
 * per array, and again if the array's contents are not what was compiled.
 */
const compiledScopes = new WeakMap<readonly string[], { key: string; sql: string }>();

/**
 * Where a fragment finds its scope: statement parameter `$n` (from scopeParam), or a column that
 * holds one (a statement reading several groups, each under its own scope).
 */
export type ScopeRef = number | string;

const ref = (scope: ScopeRef): string => (typeof scope === 'number' ? `$${scope}` : scope);

/**
 * A scope in a column cannot be estimated: planned as a join, the check would be driven from
 * every location of the scope's repositories (hundreds per group) instead of from the few rows
 * it checks. OFFSET 0 keeps it a per-row check (Postgres does not flatten such an EXISTS).
 */
const perRow = (scope: ScopeRef): string => (typeof scope === 'number' ? '' : ' OFFSET 0');

/** The repository `repoId` is in scope (`$param` from scopeParam). */
export function repositoryInScope(repoId: string, param: ScopeRef): string {
  return `(${ref(param)}::text = '' OR EXISTS (SELECT 1 FROM repository vr JOIN registry vg ON vg.id = vr.registry_id
           WHERE vr.id = ${repoId} AND (vg.name || '/' || vr.name) ~ ${ref(param)}))`;
}

/**
 * The rule: a row counts only when the artifact that carries it is present in a repository in
 * scope. `digest` is that artifact (the signature, attestation or SBOM manifest, the tagged image).
 */
export function presentInScope(digest: string, param: ScopeRef): string {
  return `EXISTS (SELECT 1 FROM artifact_location vl JOIN repository vr ON vr.id = vl.repository_id
           JOIN registry vg ON vg.id = vr.registry_id
           WHERE vl.digest = ${digest} AND vl.present AND (${ref(param)}::text = '' OR (vg.name || '/' || vr.name) ~ ${ref(param)}))`;
}

/**
 * A verification row is the result of one repository's trust rule: it counts when that repository
 * is in scope, the signature artifact is present there, and an edge there still links the row's
 * subject to it. A copy elsewhere has its own row. A cosign `.sig` tag moved to another manifest
 * (or deleted) unlinks the manifest it named, which stays present untagged: its signatures no
 * longer speak for the subject, as they do not for cosign.
 */
export function verificationVisible(alias: string, param: ScopeRef): string {
  return `EXISTS (SELECT 1 FROM artifact_location vl JOIN repository vr ON vr.id = vl.repository_id
           JOIN registry vg ON vg.id = vr.registry_id
           WHERE vl.repository_id = ${alias}.repository_id AND vl.digest = ${alias}.artifact_digest AND vl.present
             AND (${ref(param)}::text = '' OR (vg.name || '/' || vr.name) ~ ${ref(param)})${perRow(param)})
         AND EXISTS (SELECT 1 FROM edge ve
           WHERE ve.repository_id = ${alias}.repository_id AND ve.subject_digest = ${alias}.subject_digest
             AND ve.referrer_digest = ${alias}.artifact_digest AND ve.kind <> 'index-child'${perRow(param)})`;
}

/**
 * An attestation, SBOM, vulnerability report or VEX document row states something of (artifact,
 * subject), and its subject is whichever one an edge in any repository named when the verify job
 * ran. It counts where an edge in a repository in scope links that subject to that artifact and
 * the repository holds the artifact: a copy tagged for another subject elsewhere never lends its
 * statement, SBOM, findings or VEX statements here.
 */
export function linkedInScope(artifact: string, subject: string, param: ScopeRef): string {
  return `EXISTS (SELECT 1 FROM edge ve JOIN artifact_location vl ON vl.repository_id = ve.repository_id AND vl.digest = ve.referrer_digest
           JOIN repository vr ON vr.id = ve.repository_id JOIN registry vg ON vg.id = vr.registry_id
           WHERE ve.referrer_digest = ${artifact} AND ve.subject_digest = ${subject} AND ve.kind <> 'index-child' AND vl.present
             AND (${ref(param)}::text = '' OR (vg.name || '/' || vr.name) ~ ${ref(param)})${perRow(param)})`;
}

/**
 * An edge (referrer or index child) counts when its repository is in scope and the referrer has not
 * been deleted from that repository (the referrers API's rule: a referrer known only from a
 * tag-schema listing counts until its own manifest is fetched or deleted).
 */
export function edgeVisible(alias: string, param: ScopeRef): string {
  return `${repositoryInScope(`${alias}.repository_id`, param)}
      AND NOT EXISTS (SELECT 1 FROM artifact_location dl
                      WHERE dl.repository_id = ${alias}.repository_id AND dl.digest = ${alias}.referrer_digest AND NOT dl.present)`;
}

/**
 * The stored artifact row of `digest` for `LEFT JOIN LATERAL (...) a ON true`, only when the caller
 * may see it (present in a repository in scope). A referrer known to the caller only from a
 * listing (a tag-schema index naming a digest stored elsewhere) keeps the listing's descriptor:
 * the stored row of another repository's artifact never stands in for it. The LIMIT keeps the
 * planner from flattening the lateral into a hash of the whole artifact table.
 */
export function visibleArtifact(digest: string, param: ScopeRef): string {
  return `SELECT digest, media_type, artifact_type, kind, size, subject_digest, annotations FROM artifact
          WHERE digest = ${digest} AND ${presentInScope(digest, param)} LIMIT 1`;
}
