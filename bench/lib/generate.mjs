// Synthetic referrers graph, generated inside Postgres with generate_series and INSERT ... SELECT
// (no row leaves the server, so it is as fast as COPY).
//
// Shape, per "image group" g (one multi-arch image as a CI pipeline publishes it):
//   idx   image index                      ─index-child─▶ p1, p2, ba1, ba2
//   p1,p2 platform manifests               ◀─buildkit-attestation─ ba1, ba2
//   sig   cosign legacy signature of idx   (tag sha256-<idx>.sig, edge cosign-tag)
//   prov  SLSA provenance, OCI subject idx (edge subject, and listed by the tag-schema index)
//   sbom  SPDX SBOM, OCI subject idx       (edge subject, and listed by the tag-schema index)
//   psig  notation signature of prov       (edge subject: signatures on attestations)
//   ts    tag-schema index sha256-<idx>    (source of the tag-schema edges)
// = 10 artifacts and 12 edges per repository copy. Every group is present in 1-4 repositories
// (promotion dev → staging → prod, mirrors), 2.5 on average, so edges ≈ 3 × artifacts.
// Every 50th group has a counter-signature chain of 5 more levels under psig (a deep chain);
// every 100th group has its psig deleted from its first repository (hidden by the query).
// HOT base images each have `hot` referrers (nightly scans): a few subjects with thousands.

export const GROUP_ARTIFACTS = 10;
export const GROUP_EDGES = 12;
export const CHAIN_EVERY = 50;
export const CHAIN_LEN = 5;
export const HOT_SUBJECTS = 5;
export const SBOM_PACKAGES = 10;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** The shape's parameters for a target number of artifacts. */
export function plan(artifacts) {
  const hot = Math.max(20, Math.min(2000, Math.floor(artifacts / 50)));
  const perGroup = GROUP_ARTIFACTS + CHAIN_LEN / CHAIN_EVERY;
  const groups = Math.max(10, Math.floor((artifacts - HOT_SUBJECTS * (hot + 1)) / perGroup));
  const repositories = Math.max(4, Math.ceil(groups / 25));
  return { artifacts, groups, repositories, hot, hotSubjects: HOT_SUBJECTS };
}

/** SQL for the digest of a seed text expression: sha256 of the text, as an OCI digest. */
const dg = (expr) => `('sha256:' || encode(sha256(convert_to(${expr}, 'UTF8')), 'hex'))`;

/** A manifest-like body of about 400 bytes, so artifact rows have a realistic width. */
const body = (mt, digestExpr) =>
  `convert_to(format('{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"${OCI_CONFIG}","digest":"%s","size":233},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":3623807}],"annotations":{"org.opencontainers.image.source":"https://example.com/src"}}', ${mt}, ${digestExpr}, ${digestExpr}), 'UTF8')`;

const ROLES = [
  // role, media type, artifact type, kind, size, subject role, annotations
  ['idx', OCI_INDEX, null, 'index', 1609, null, null],
  ['p1', OCI_MANIFEST, null, 'image', 1403, null, null],
  ['p2', OCI_MANIFEST, null, 'image', 1403, null, null],
  [
    'ba1',
    OCI_MANIFEST,
    null,
    'attestation',
    839,
    null,
    `'{"vnd.docker.reference.type":"attestation-manifest"}'`,
  ],
  [
    'ba2',
    OCI_MANIFEST,
    null,
    'attestation',
    839,
    null,
    `'{"vnd.docker.reference.type":"attestation-manifest"}'`,
  ],
  ['sig', OCI_MANIFEST, OCI_CONFIG, 'signature', 556, null, null],
  [
    'prov',
    OCI_MANIFEST,
    'application/vnd.in-toto+json',
    'attestation',
    772,
    'idx',
    `'{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v1","org.opencontainers.image.created":"2026-11-01T10:00:00Z"}'`,
  ],
  [
    'sbom',
    OCI_MANIFEST,
    'application/spdx+json',
    'sbom',
    744,
    'idx',
    `'{"org.opencontainers.image.created":"2026-11-01T10:00:00Z"}'`,
  ],
  [
    'psig',
    OCI_MANIFEST,
    'application/vnd.cncf.notary.signature',
    'signature',
    721,
    'prov',
    `'{"io.cncf.notary.x509chain.thumbprint#S256":"[\\"b7a7f1c4e2\\"]"}'`,
  ],
  ['ts', OCI_INDEX, null, 'index', 702, null, null],
];

const lit = (v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`);

/**
 * Replaces the graph with a synthetic one of about `artifacts` artifacts in registry
 * `registryName`. Needs a migrated database; the client must not be inside a transaction.
 * Returns counts and the seed table name holding the groups (bench_gen.grp) for key sampling.
 */
export async function generateGraph(
  clients,
  {
    artifacts,
    registryName = 'bench',
    registryUrl = 'http://127.0.0.1:1',
    policyVersion = 'bench',
    log = () => {},
  },
) {
  // Stored results carry the trust policy version they were computed under; a service whose policy
  // has another version re-verifies them at start-up, so the bench passes the service's own.
  if (!/^[\w.-]+$/.test(policyVersion)) throw new Error(`unexpected policy version ${policyVersion}`);
  const p = plan(artifacts);
  const t0 = Date.now();
  clients = Array.isArray(clients) ? clients : [clients];
  const client = clients[0];
  let replica = false;
  for (const c of clients) {
    await c.query(`SET synchronous_commit = off`);
    await c.query(`SET maintenance_work_mem = '1GB'`);
    await c.query(`SET max_parallel_maintenance_workers = 0`);
    await c.query(`SET work_mem = '64MB'`);
    // Foreign keys hold by construction; skipping their per-row triggers halves the load time.
    // Needs a superuser (the embedded server); other servers check them as usual.
    try {
      await c.query(`SET session_replication_role = replica`);
      replica = true;
    } catch {
      /* not a superuser */
    }
  }

  await client.query(`TRUNCATE registry, repository, artifact, artifact_location, tag, edge, webhook_event,
    signature, attestation, sbom, sbom_package RESTART IDENTITY CASCADE`);
  await client.query(`DELETE FROM graphile_worker._private_jobs`).catch(() => undefined);

  // Secondary indexes are dropped during the load and rebuilt once at the end (much faster than
  // maintaining them row by row); their definitions come from the catalog, so they stay exact.
  const { rows: indexes } = await client.query(`
    SELECT i.indexname, i.indexdef, i.tablename FROM pg_indexes i
    JOIN pg_class c ON c.relname = i.indexname
    JOIN pg_index x ON x.indexrelid = c.oid
    WHERE i.schemaname = 'public'
      AND i.tablename IN ('artifact', 'artifact_location', 'tag', 'edge', 'signature', 'attestation', 'sbom', 'sbom_package')
      AND NOT x.indisprimary`);
  for (const ix of indexes) await client.query(`DROP INDEX public."${ix.indexname}"`);

  await client.query(`DROP SCHEMA IF EXISTS bench_gen CASCADE`);
  await client.query(`CREATE SCHEMA bench_gen`);

  await client.query(`INSERT INTO registry (id, name, kind, base_url) VALUES (1, $1, 'distribution', $2)`, [
    registryName,
    registryUrl,
  ]);
  await client.query(
    `INSERT INTO repository (id, registry_id, name)
     SELECT r, 1, format('team-%s/app-%s', r % 23, r) FROM generate_series(1, $1) r
     UNION ALL
     SELECT $1 + h, 1, format('base/os-%s', h) FROM generate_series(1, $2) h`,
    [p.repositories, p.hotSubjects],
  );
  await client.query(`SELECT setval(pg_get_serial_sequence('repository', 'id'), $1)`, [
    p.repositories + p.hotSubjects,
  ]);
  await client.query(`SELECT setval(pg_get_serial_sequence('registry', 'id'), 1)`);

  // One row per group with every role's digest; one row per (group, repository) copy.
  const roleCols = ROLES.map(([role]) => `${dg(`'g' || g || ':${role}'`)} AS ${role}`).join(',\n      ');
  await client.query(`
    CREATE UNLOGGED TABLE bench_gen.grp AS
    SELECT g, 1 + (hashint4(g) & 2147483647) % 4 AS copies,
      ${roleCols}
    FROM generate_series(1, ${p.groups}) g`);
  await client.query(`
    CREATE UNLOGGED TABLE bench_gen.copy AS
    SELECT b.g, j, 1 + ((b.g::bigint * 7919 + j * 104729) % ${p.repositories}) AS repo
    FROM bench_gen.grp b, generate_series(0, b.copies - 1) j`);
  // Counter-signature chains: level 1 signs psig, level n signs level n-1.
  await client.query(`
    CREATE UNLOGGED TABLE bench_gen.chain AS
    SELECT b.g, l,
      ${dg(`'g' || b.g || ':c' || l`)} AS digest,
      CASE WHEN l = 1 THEN b.psig ELSE ${dg(`'g' || b.g || ':c' || (l - 1)`)} END AS subject
    FROM bench_gen.grp b, generate_series(1, ${CHAIN_LEN}) l
    WHERE b.g % ${CHAIN_EVERY} = 0`);
  await client.query(`
    CREATE UNLOGGED TABLE bench_gen.hot AS
    SELECT h, ${dg(`'hot' || h`)} AS subject, ${p.repositories} + h AS repo FROM generate_series(1, ${p.hotSubjects}) h`);
  await client.query(`
    CREATE UNLOGGED TABLE bench_gen.hotref AS
    SELECT h.h, i, h.repo, h.subject, ${dg(`'hot' || h.h || ':' || i`)} AS digest
    FROM bench_gen.hot h, generate_series(1, ${p.hot}) i`);
  log(`  seeds ${Date.now() - t0} ms`);

  // Artifacts.
  const values = ROLES.map(
    ([role, mt, at, kind, size, subj, ann]) =>
      `(b.${role}, ${lit(mt)}, ${lit(at)}, ${lit(kind)}, ${size}, ${subj ? `b.${subj}` : 'NULL'}, ${ann ? `${ann}::jsonb` : `'{}'::jsonb`})`,
  );
  const roles = ROLES.map(([role]) => `b.${role}`).join(', ');
  // Two lanes on two connections (two cores). Each table is truncated and filled in one
  // transaction: with wal_level=minimal (the embedded server) Postgres then skips WAL for it.
  const tx = async (c, tables, name, fn) => {
    await c.query('BEGIN');
    await c.query(`TRUNCATE ${tables.join(', ')}`);
    await fn();
    await c.query('COMMIT');
    log(`  ${name} ${Date.now() - t0} ms`);
  };
  const laneA = async (c) => {
    await tx(c, ['artifact'], 'artifacts', async () => {
      await c.query(`
        INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
        SELECT v.digest, v.mt, v.at, v.kind, v.size, v.subj, v.ann, ${body('v.mt', 'v.digest')}
        FROM bench_gen.grp b, LATERAL (VALUES ${values.join(', ')}) v(digest, mt, at, kind, size, subj, ann)`);
      await c.query(`
        INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
        SELECT c.digest, '${OCI_MANIFEST}', 'application/vnd.cncf.notary.signature', 'signature', 721, c.subject, '{}',
          ${body(`'${OCI_MANIFEST}'`, 'c.digest')}
        FROM bench_gen.chain c`);
      await c.query(`
        INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
        SELECT h.subject, '${OCI_MANIFEST}', NULL, 'image', 1403, NULL, '{}', ${body(`'${OCI_MANIFEST}'`, 'h.subject')}
        FROM bench_gen.hot h
        UNION ALL
        SELECT r.digest, '${OCI_MANIFEST}',
          CASE WHEN r.i % 2 = 0 THEN 'application/vnd.in-toto+json' ELSE 'application/vnd.dev.sigstore.bundle.v0.3+json' END,
          CASE WHEN r.i % 2 = 0 THEN 'attestation' ELSE 'signature' END, 780, r.subject,
          jsonb_build_object('org.opencontainers.image.created', '2026-11-01T10:00:00Z', 'scan', r.i::text),
          ${body(`'${OCI_MANIFEST}'`, 'r.digest')}
        FROM bench_gen.hotref r`);
    });
    await tx(c, ['tag'], 'tags', async () => {
      await c.query(`
        INSERT INTO tag (repository_id, name, digest, event_at)
        SELECT c.repo, t.name, t.digest, now()
        FROM bench_gen.copy c JOIN bench_gen.grp b USING (g),
          LATERAL (VALUES ('v1.' || b.g, b.idx),
                          ('sha256-' || substr(b.idx, 8) || '.sig', b.sig),
                          ('sha256-' || substr(b.idx, 8), b.ts)) t(name, digest)`);
    });
    await tx(
      c,
      ['signature', 'attestation', 'sbom', 'sbom_package'],
      'signatures, attestations, SBOMs',
      async () => {
        // Stored verification results, one per repository holding the group (each decided by that
        // repository's rule); parse results per artifact.
        await c.query(`
        INSERT INTO signature (artifact_digest, subject_digest, repository_id, kind, format, status, identity, issuer, authority, tlog_index, integrated_time, policy_version)
        SELECT b.sig, b.idx, c.repo, 'signature', 'cosign', CASE WHEN b.g % 20 = 0 THEN 'failed' ELSE 'verified' END,
          'https://github.com/org/app-' || (b.g % 97) || '/.github/workflows/release.yml@refs/heads/main',
          'https://token.actions.githubusercontent.com', 'ci', 100000000 + b.g, now(), '${policyVersion}'
        FROM bench_gen.copy c JOIN bench_gen.grp b USING (g)
        UNION ALL
        SELECT b.psig, b.prov, c.repo, 'signature', 'notation', 'verified', 'CN=release,O=Example', NULL, 'release-ca', NULL, NULL, '${policyVersion}'
        FROM bench_gen.copy c JOIN bench_gen.grp b USING (g)`);
        await c.query(`
        INSERT INTO attestation (artifact_digest, subject_digest, predicate_type, builder_id, build_type, source_repo, source_revision)
        SELECT b.prov, b.idx, 'https://slsa.dev/provenance/v1', 'https://github.com/actions/runner/github-hosted',
          'https://actions.github.io/buildtypes/workflow/v1', 'https://github.com/org/app-' || (b.g % 97), md5(b.g::text)
        FROM bench_gen.grp b
        UNION ALL
        SELECT d, s, 'https://slsa.dev/provenance/v0.2', 'https://github.com/moby/buildkit', NULL, NULL, NULL
        FROM bench_gen.grp b, LATERAL (VALUES (b.ba1, b.p1), (b.ba2, b.p2)) v(d, s)
        UNION ALL
        SELECT r.digest, r.subject, 'https://cosign.sigstore.dev/attestation/vuln/v1', NULL, NULL, NULL, NULL
        FROM bench_gen.hotref r WHERE r.i % 2 = 0`);
        await c.query(`
        INSERT INTO sbom (id, artifact_digest, subject_digest, format, spec_version, name, package_count)
        SELECT b.g, b.sbom, b.idx, 'spdx', 'SPDX-2.3', 'app-' || b.g, ${SBOM_PACKAGES} FROM bench_gen.grp b`);
        await c.query(`SELECT setval(pg_get_serial_sequence('sbom', 'id'), $1)`, [p.groups]);
        await c.query(`
        INSERT INTO sbom_package (sbom_id, name, version, purl, purl_base)
        SELECT b.g, 'pkg-' || ((b.g * 31 + k) % 5000), '1.' || (k % 7) || '.' || (b.g % 13),
          'pkg:npm/pkg-' || ((b.g * 31 + k) % 5000) || '@1.' || (k % 7) || '.' || (b.g % 13),
          'pkg:npm/pkg-' || ((b.g * 31 + k) % 5000)
        FROM bench_gen.grp b, generate_series(1, ${SBOM_PACKAGES}) k`);
      },
    );
  };
  const laneB = async (c) => {
    await tx(c, ['artifact_location'], 'locations', async () => {
      await c.query(`
        INSERT INTO artifact_location (repository_id, digest, present, event_at)
        SELECT c.repo, d, NOT (c.j = 0 AND b.g % 100 = 0 AND d = b.psig), now()
        FROM bench_gen.copy c JOIN bench_gen.grp b USING (g), unnest(ARRAY[${roles}]) d
        UNION ALL
        SELECT c.repo, ch.digest, true, now() FROM bench_gen.chain ch JOIN bench_gen.copy c USING (g)
        UNION ALL
        SELECT repo, subject, true, now() FROM bench_gen.hot
        UNION ALL
        SELECT repo, digest, true, now() FROM bench_gen.hotref`);
    });
    await tx(c, ['edge'], 'edges', async () => {
      // Edges, per repository copy.
      await c.query(`
        INSERT INTO edge (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag, descriptor)
        SELECT c.repo, e.subj, e.ref, e.kind, e.src, e.via, e.descr
        FROM bench_gen.copy c JOIN bench_gen.grp b USING (g),
          LATERAL (VALUES
            (b.idx, b.p1, 'index-child', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.p1, 'size', 1403,
              'platform', jsonb_build_object('architecture', 'amd64', 'os', 'linux'))),
            (b.idx, b.p2, 'index-child', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.p2, 'size', 1403,
              'platform', jsonb_build_object('architecture', 'arm64', 'os', 'linux'))),
            (b.idx, b.ba1, 'index-child', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.ba1, 'size', 839)),
            (b.idx, b.ba2, 'index-child', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.ba2, 'size', 839)),
            (b.p1, b.ba1, 'buildkit-attestation', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.ba1, 'size', 839,
              'annotations', jsonb_build_object('vnd.docker.reference.type', 'attestation-manifest', 'vnd.docker.reference.digest', b.p1))),
            (b.p2, b.ba2, 'buildkit-attestation', b.idx, '', jsonb_build_object('mediaType', '${OCI_MANIFEST}', 'digest', b.ba2, 'size', 839,
              'annotations', jsonb_build_object('vnd.docker.reference.type', 'attestation-manifest', 'vnd.docker.reference.digest', b.p2))),
            (b.idx, b.sig, 'cosign-tag', b.sig, 'sha256-' || substr(b.idx, 8) || '.sig', NULL::jsonb),
            (b.idx, b.prov, 'subject', b.prov, '', NULL),
            (b.idx, b.sbom, 'subject', b.sbom, '', NULL),
            (b.prov, b.psig, 'subject', b.psig, '', NULL),
            (b.idx, b.prov, 'tag-schema', b.ts, 'sha256-' || substr(b.idx, 8), jsonb_build_object('mediaType', '${OCI_MANIFEST}',
              'digest', b.prov, 'size', 772, 'artifactType', 'application/vnd.in-toto+json')),
            (b.idx, b.sbom, 'tag-schema', b.ts, 'sha256-' || substr(b.idx, 8), jsonb_build_object('mediaType', '${OCI_MANIFEST}',
              'digest', b.sbom, 'size', 744, 'artifactType', 'application/spdx+json'))
          ) e(subj, ref, kind, src, via, descr)`);
      await c.query(`
        INSERT INTO edge (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag)
        SELECT c.repo, ch.subject, ch.digest, 'subject', ch.digest, ''
        FROM bench_gen.chain ch JOIN bench_gen.copy c USING (g)
        UNION ALL
        SELECT repo, subject, digest, 'subject', digest, '' FROM bench_gen.hotref`);
    });
  };
  if (clients.length > 1) await Promise.all([laneA(clients[0]), laneB(clients[1])]);
  else {
    await laneA(client);
    await laneB(client);
  }

  // Largest first, shared out over the connections.
  const queue = [...indexes].sort((a, b) => (b.tablename === 'edge') - (a.tablename === 'edge'));
  await Promise.all(
    clients.map(async (c) => {
      for (let ix = queue.shift(); ix; ix = queue.shift()) await c.query(ix.indexdef);
      if (replica) await c.query(`SET session_replication_role = origin`);
    }),
  );
  // VACUUM, not only ANALYZE: freshly loaded rows carry no hint bits and no visibility map, so
  // the first reads after a load would write every page they touch (the first run measured slow).
  await Promise.all(
    [
      client.query(`VACUUM (FREEZE, ANALYZE) edge, artifact_location`),
      (clients[1] ?? client).query(
        `VACUUM (FREEZE, ANALYZE) artifact, repository, registry, tag, signature, attestation, sbom`,
      ),
    ].slice(0, clients.length > 1 ? 2 : 1),
  );
  if (clients.length === 1)
    await client.query(
      `VACUUM (FREEZE, ANALYZE) artifact, repository, registry, tag, signature, attestation, sbom`,
    );
  await client.query(`ANALYZE sbom_package`);
  await client.query(`CHECKPOINT`).catch(() => undefined);
  log(`  indexes and vacuum ${Date.now() - t0} ms`);

  const { rows } = await client.query(`
    SELECT (SELECT count(*) FROM artifact)::int AS artifacts, (SELECT count(*) FROM edge)::int AS edges,
           (SELECT count(*) FROM artifact_location)::int AS locations, (SELECT count(*) FROM repository)::int AS repositories`);
  return { plan: p, ...rows[0], ms: Date.now() - t0 };
}

/**
 * Random query keys over the generated graph: mostly image digests (what admission asks about),
 * some platform manifests and attestations, some digests nobody refers to, and hot subjects at
 * about one request in a thousand. Deterministic for a given count.
 */
export async function sampleKeys(client, { count = 20000, registryName = 'bench' } = {}) {
  const { rows } = await client.query(
    `SELECT r.name AS repository, b.g, b.idx, b.p1, b.prov
     FROM bench_gen.copy c JOIN bench_gen.grp b USING (g) JOIN repository r ON r.id = c.repo
     ORDER BY hashint4(c.g * 4 + c.j) LIMIT $1`,
    [count],
  );
  const { rows: hot } = await client.query(
    `SELECT r.name AS repository, h.subject FROM bench_gen.hot h JOIN repository r ON r.id = h.repo ORDER BY h.h`,
  );
  const keys = rows.map((row, i) => {
    const bucket = i % 100;
    const digest =
      bucket < 70
        ? row.idx
        : bucket < 85
          ? row.p1
          : bucket < 95
            ? row.prov
            : `sha256:${sha256hex(`unsigned:${row.g}`)}`;
    // Image indexes are also tagged `v1.<group>` in every repository that holds them.
    const tag = bucket < 70 ? `v1.${row.g}` : undefined;
    return { registry: registryName, repository: row.repository, digest, tag, known: bucket < 95 };
  });
  for (let i = 0; i < keys.length; i += 1000) {
    const h = hot[(i / 1000) % hot.length];
    if (h) keys[i] = { registry: registryName, repository: h.repository, digest: h.subject, known: true };
  }
  return keys;
}

/** Hot subjects only (thousands of referrers each). */
export async function hotKeys(client, { registryName = 'bench' } = {}) {
  const { rows } = await client.query(
    `SELECT r.name AS repository, h.subject FROM bench_gen.hot h JOIN repository r ON r.id = h.repo ORDER BY h.h`,
  );
  return rows.map((r) => ({
    registry: registryName,
    repository: r.repository,
    digest: r.subject,
    known: true,
  }));
}

export async function dropSeeds(client) {
  await client.query(`DROP SCHEMA IF EXISTS bench_gen CASCADE`);
}

import { createHash } from 'node:crypto';
function sha256hex(s) {
  return createHash('sha256').update(s).digest('hex');
}
