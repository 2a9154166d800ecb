import { z, type ZodObject, type ZodType } from 'zod';
import * as S from './schemas.js';

interface Operation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  tag: string;
  params?: ZodObject;
  query?: ZodObject;
  body?: ZodType;
  /** What a successful answer is, in a sentence (responses are documented by example shape). */
  returns: string;
}

/** Every REST operation, with the same zod schemas the handlers validate with. */
export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/api/v1/resolve',
    tag: 'artifacts',
    summary: 'Resolve a reference to its digest',
    query: S.ResolveQuery,
    returns: '{reference, registry, repository, tag, digest}',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}',
    tag: 'artifacts',
    summary: 'Artifact summary: type, size, locations, counts of signatures, attestations, SBOMs',
    params: S.DigestParams,
    returns: 'ArtifactSummary',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}/referrers',
    tag: 'artifacts',
    summary: 'Referrers, direct or recursive, with verification and parse results',
    params: S.DigestParams,
    query: S.ReferrersQuery,
    returns: '{subject, referrers: ReferrerNode[], children?, nextCursor}',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}/signatures',
    tag: 'trust',
    summary: 'Signatures over a digest and their verification outcomes',
    params: S.DigestParams,
    returns: '{subject, signatures}',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}/attestations',
    tag: 'trust',
    summary: 'Attestations about a digest (provenance fields, vulnerability counts)',
    params: S.DigestParams,
    query: S.AttestationsQuery,
    returns: '{subject, attestations}',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}/sbom/packages',
    tag: 'sbom',
    summary: 'Packages listed by the SBOMs of a digest',
    params: S.DigestParams,
    query: S.PackagesQuery,
    returns: '{subject, packages, nextCursor}',
  },
  {
    method: 'get',
    path: '/api/v1/packages',
    tag: 'sbom',
    summary: 'Artifacts whose SBOM contains a package URL (with or without version)',
    query: S.PackageSearchQuery,
    returns: '{purl, artifacts}',
  },
  {
    method: 'get',
    path: '/api/v1/vulnerabilities/{id}/artifacts',
    tag: 'vulnerabilities',
    summary:
      'Images with a finding of a vulnerability, each affected or not after VEX (vex=verified: only verified VEX counts)',
    params: S.VulnerabilityParams,
    query: S.VulnerabilityArtifactsQuery,
    returns: '{vulnerability, vex, artifacts[{digest, affected, vex, locations, findings}], nextCursor}',
  },
  {
    method: 'get',
    path: '/api/v1/artifacts/{digest}/vulnerabilities',
    tag: 'vulnerabilities',
    summary: 'Findings of the vulnerability reports about a digest, each with its VEX status and statement',
    params: S.DigestParams,
    query: S.ArtifactVulnerabilitiesQuery,
    returns: '{subject, vex, findings[{vulnerabilityId, package, severity, vex, statements}], nextCursor}',
  },
  {
    method: 'post',
    path: '/api/v1/verdict',
    tag: 'admission',
    summary: 'Evaluate a named policy for image references or digests',
    body: S.VerdictBody,
    returns: 'Verdict {policy, allowed, subjects[{reference, subject, allowed, reasons, requirements}]}',
  },
  {
    method: 'get',
    path: '/api/v1/policies',
    tag: 'admission',
    summary: 'Configured policy names and what each requires',
    returns: '{policies[{name, requires{signatures, attestations, sbom}}]}',
  },
  {
    method: 'post',
    path: '/api/v1/gatekeeper/{policy}',
    tag: 'admission',
    summary: 'Gatekeeper external data provider (externaldata.gatekeeper.sh/v1beta1)',
    params: S.PolicyParams,
    body: S.ProviderRequest,
    returns: 'ProviderResponse',
  },
  {
    method: 'get',
    path: '/api/v1/registries',
    tag: 'operations',
    summary: 'Configured registries and their last event time',
    returns: '{registries}',
  },
  {
    method: 'get',
    path: '/api/v1/events',
    tag: 'operations',
    summary: 'Webhook events by status (admin)',
    query: S.EventsQuery,
    returns: '{events, nextCursor}',
  },
  {
    method: 'post',
    path: '/api/v1/events/{id}/replay',
    tag: 'operations',
    summary: 'Queue a failed or skipped event again (admin)',
    params: S.EventParams,
    returns: '{id, status}',
  },
  {
    method: 'post',
    path: '/api/v1/registries/{name}/sync',
    tag: 'operations',
    summary: 'Queue a backfill (and with reconcile, removal of what the registry no longer has) (admin)',
    params: S.RegistryNameParams,
    body: S.SyncBody,
    returns: '202 {jobId, registry, reconcile, repositories}',
  },
  {
    method: 'get',
    path: '/api/v1/registries/{name}/sync',
    tag: 'operations',
    summary: 'The last backfill or reconcile run of a registry (admin)',
    params: S.RegistryNameParams,
    returns: '{registry, lastRun}',
  },
];

function parameters(schema: ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

export function openApiDocument(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      tags: [op.tag],
      parameters: [...parameters(op.params, 'path'), ...parameters(op.query, 'query')],
      ...(op.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: z.toJSONSchema(op.body, { io: 'input', unrepresentable: 'any' }),
                },
              },
            },
          }
        : {}),
      responses: {
        '200': { description: op.returns },
        '400': {
          description: 'invalid request',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        '401': { description: 'missing or invalid credentials' },
        '404': { description: "not found (or outside the caller's scope)" },
      },
      security: [{ bearer: [] }],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'refgraph',
      version,
      description:
        'Referrers and signature graph of OCI registries. The OCI registry view (manifests, blobs, tags and the referrers API) is served at `/v2/{registry-name}/{repository}/…`, e.g. `/v2/{registry-name}/{repository}/referrers/{digest}`; GraphQL at `/graphql`.',
    },
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: z.toJSONSchema(S.ErrorResponse) },
    },
  };
}
