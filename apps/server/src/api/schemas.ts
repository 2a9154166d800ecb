import { z } from 'zod';
import { isRepositoryName } from '#registry';

const digest = z
  .string()
  .regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, 'must be a digest: sha256:<64 lowercase hex>');
const positiveInt = (max: number, def: number) => z.coerce.number().int().min(1).max(max).default(def);

export const DigestParams = z.object({ digest }).strict();

export const ResolveQuery = z.object({ reference: z.string().min(1).max(512) }).strict();

export const ReferrersQuery = z
  .object({
    depth: positiveInt(8, 1),
    artifactType: z.string().min(1).max(255).optional(),
    kind: z.enum(['signature', 'attestation', 'sbom', 'other']).optional(),
    first: positiveInt(500, 100),
    after: digest.optional(),
    children: z
      .enum(['true', 'false'])
      .optional()
      .transform((v) => v === 'true'),
  })
  .strict();

export const AttestationsQuery = z.object({ predicateType: z.string().min(1).max(512).optional() }).strict();

export const PackagesQuery = z
  .object({
    first: positiveInt(1000, 100),
    after: z.coerce.number().int().min(0).optional(),
    q: z.string().min(1).max(256).optional(),
  })
  .strict();

export const PackageSearchQuery = z
  .object({
    purl: z
      .string()
      .regex(/^pkg:[a-z0-9.+-]+\/.+/i, 'must be a package URL (pkg:type/namespace/name[@version])'),
    first: positiveInt(1000, 100),
  })
  .strict();

/** Vulnerability ids as databases spell them: CVE-…, GHSA-…, GO-…, RHSA-2024:1234, DSA-5555-1, … */
export const VulnerabilityParams = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/, 'must be a vulnerability id such as CVE-2024-3094'),
  })
  .strict();

/** `verified` (default): only VEX statements from verified signed attestations count; `any`: every visible one. */
const vexMode = z.enum(['verified', 'any']).default('verified');

export const VulnerabilityArtifactsQuery = z
  .object({ first: positiveInt(500, 100), after: digest.optional(), vex: vexMode })
  .strict();

export const ArtifactVulnerabilitiesQuery = z
  .object({ first: positiveInt(1000, 100), after: z.coerce.number().int().min(0).optional(), vex: vexMode })
  .strict();

export const VerdictBody = z
  .object({
    policy: z.string().min(1).max(64),
    subjects: z.array(z.string().min(1).max(512)).min(1).max(100),
    /**
     * `refgraph` (default): `<registry-name>/<repository>…` references, or by registry host.
     * `image`: image strings as a container runtime reads them (pod specs): the registry is the
     * host, Docker Hub when there is none; never matched against refgraph's registry names.
     */
    references: z.enum(['refgraph', 'image']).default('refgraph'),
  })
  .strict();

export const EventsQuery = z
  .object({
    status: z.enum(['pending', 'done', 'skipped', 'failed', 'rejected']).optional(),
    first: positiveInt(500, 50),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();

export const EventParams = z.object({ id: z.coerce.number().int().min(1) }).strict();

export const RegistryNameParams = z.object({ name: z.string().min(1).max(64) }).strict();

/** POST /api/v1/registries/{name}/sync: which repositories (default all), and whether to reconcile. */
export const SyncBody = z
  .object({
    repositories: z
      .array(z.string().refine(isRepositoryName, 'not a valid repository name'))
      .max(10_000)
      .optional(),
    reconcile: z.boolean().optional(),
  })
  .strict();

/** Gatekeeper external data: externaldata.gatekeeper.sh/v1beta1 ProviderRequest. */
export const ProviderRequest = z.object({
  apiVersion: z.literal('externaldata.gatekeeper.sh/v1beta1'),
  kind: z.literal('ProviderRequest'),
  request: z.object({ keys: z.array(z.string()).max(1000) }),
});

export const PolicyParams = z.object({ policy: z.string().min(1).max(64) }).strict();

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string(),
    /** Why a reference is not found: unknown_registry, unknown_tag, unknown_digest, not_in_scope. */
    reason: z.string().optional(),
  }),
});
