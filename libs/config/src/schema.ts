import { isIP } from 'node:net';
import { z } from 'zod';
import { database } from './schema-database.js';
import { trust } from './schema-trust.js';

/** Senders refgraph has a webhook adapter for; the kind picks the payload parser. */
export const REGISTRY_KINDS = [
  'distribution',
  'harbor',
  'zot',
  'quay',
  'dockerhub',
  'ghcr',
  'acr',
  'ecr',
  'gar',
  'artifactory',
  'gitea',
] as const;
export type RegistryKind = (typeof REGISTRY_KINDS)[number];

/** Names an environment variable; secrets are referenced, never written in the file. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const webhookAuth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('bearer'), tokenEnv: envName }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1), passwordEnv: envName }).strict(),
  /** A static header and value (Harbor's "Auth Header", ACR custom headers). */
  z.object({ type: z.literal('header'), name: z.string().min(1), valueEnv: envName }).strict(),
  /** HMAC-SHA256 of the raw body (GitHub X-Hub-Signature-256, Gitea X-Gitea-Signature). */
  z.object({ type: z.literal('hmac-sha256'), secretEnv: envName }).strict(),
]);

const credentials = z.union([
  z.object({ username: z.string().min(1), passwordEnv: envName }).strict(),
  z.object({ tokenEnv: envName }).strict(),
]);

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

/** Connect and first-byte timeouts of registry requests when the config names none. */
export const DEFAULT_REGISTRY_TIMEOUTS = { connectMs: 5_000, firstByteMs: 10_000 } as const;

const registry = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lowercase letters, digits, ".", "_" or "-"'),
    kind: z.enum(REGISTRY_KINDS),
    url: httpUrl,
    credentials: credentials.optional(),
    webhook: z.object({ auth: webhookAuth }).strict(),
    /** Hosts a blob or manifest request may be redirected to (object storage); others are refused. */
    allowedRedirectHosts: z.array(z.string().min(1)).default([]),
    /** Token realms outside the registry's own origin that may receive the pull credentials. */
    allowedTokenRealms: z.array(httpUrl).default([]),
    maxManifestBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    // Outbound isolation and allow-list (RELIABILITY.md "Registry isolation, outbound allow-list").
    /**
     * A listed realm named by host name must resolve to public addresses; true also accepts
     * loopback, private and link-local ones (a token service beside the registry on one network).
     */
    allowPrivateTokenRealms: z.boolean().default(false),
    /** Ingest and verify jobs fetching from it at once, per worker process (default: half the worker's). */
    concurrency: z.number().int().min(1).max(256).optional(),
    /** Connect and first-byte (response headers) timeouts of every request to this registry. */
    timeouts: z
      .object({
        connectMs: z.number().int().min(100).max(120_000).default(DEFAULT_REGISTRY_TIMEOUTS.connectMs),
        firstByteMs: z.number().int().min(100).max(300_000).default(DEFAULT_REGISTRY_TIMEOUTS.firstByteMs),
      })
      .strict()
      .default(DEFAULT_REGISTRY_TIMEOUTS),
  })
  .strict();

export const DEFAULT_LIMITS = { layersPerArtifact: 1_000, packagesPerArtifact: 200_000 } as const;

/** Caps on what one artifact may cost (see README "Attestations and SBOMs"). */
const limits = z
  .object({
    /** A signature, attestation or SBOM artifact with more layers is not read; its row says why. */
    layersPerArtifact: z.number().int().min(1).max(100_000).default(DEFAULT_LIMITS.layersPerArtifact),
    /** SBOM package rows stored per artifact, summed over its layers and subjects. */
    packagesPerArtifact: z.number().int().min(1).max(10_000_000).default(DEFAULT_LIMITS.packagesPerArtifact),
  })
  .strict();

const policy = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" or "-"'),
    /** At least one verified signature by one of these authorities. */
    signatures: z
      .object({ authorities: z.array(z.string().min(1)).min(1) })
      .strict()
      .optional(),
    attestations: z
      .array(
        z
          .object({
            predicateType: z.string().min(1),
            builderIds: z.array(z.string().min(1)).optional(),
            /** The attestation itself must be verified by one of these. */
            authorities: z.array(z.string().min(1)).optional(),
          })
          .strict(),
      )
      .default([]),
    sbom: z.boolean().default(false),
  })
  .strict()
  // A policy that requires nothing would allow every image refgraph knows.
  .refine((p) => p.signatures !== undefined || p.attestations.length > 0 || p.sbom, {
    message: 'a policy must require something: signatures, attestations or sbom',
  });

/** `read:<registry>/<repository glob>` (`*` within a segment, `**` across) or `admin` (everything). */
const scope = z
  .string()
  .regex(/^(admin|read:[A-Za-z0-9._*/-]+)$/, 'a scope is "admin" or "read:<registry>/<repository glob>"');

const apiToken = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" or "-"'),
    /** Hex SHA-256 of the token: the token itself is never stored (`printf %s "$TOKEN" | sha256sum`). */
    sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be the 64-character hex SHA-256 of the token'),
    scopes: z.array(scope).min(1),
  })
  .strict();

/** A proxy address for server.trustProxy: an IP address, optionally with a /prefix length. */
const proxyAddress = z.string().refine((v) => {
  const [ip, prefix, ...rest] = v.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || rest.length) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}, 'must be an IP address or CIDR range, e.g. 10.0.0.1 or 10.0.0.0/8');

const auth = z
  .object({
    tokens: z.array(apiToken).default([]),
    oidc: z
      .object({
        issuer: z.string().url(),
        audience: z.string().min(1),
        /** Where the signing keys are; default: jwks_uri from the issuer's OpenID discovery document. */
        jwksUri: z.string().url().optional(),
        /** Granted to every valid token. */
        scopes: z.array(scope).default([]),
        /** A claim whose space-separated values are scopes too (e.g. "scope"). */
        scopeClaim: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * The read-only OCI registry view under /v2/<registry>/<repository>/ (manifests, blobs, tags) and
 * its Docker token endpoint /v2/token.
 */
const registryView = z
  .object({
    /** The URL clients reach refgraph at, for the token realm; default: the request's own origin. */
    externalUrl: httpUrl.optional(),
    /**
     * The service tokens are issued for (the challenge's `service`, the tokens' audience); default:
     * the host of externalUrl, else `refgraph`. Deployments sharing a token secret need distinct ones.
     */
    service: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$/, 'letters, digits and . : _ - only')
      .optional(),
    /** Seconds a tag as refgraph recorded it is served without asking the registry. */
    tagMaxAgeSeconds: z.number().int().min(0).default(30),
    /** Largest blob streamed through the view; larger ones are refused. */
    maxBlobBytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024 * 1024),
    /** Lifetime of the tokens /v2/token issues. */
    tokenTtlSeconds: z.number().int().min(30).max(3600).default(300),
    /** Names the environment variable with the token signing secret (>= 32 bytes); default: random per process. */
    tokenSecretEnv: envName.optional(),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        port: z.number().int().min(0).max(65535).default(8080),
        host: z.string().default('0.0.0.0'),
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** HTTPS (Gatekeeper requires it); clientCaFile turns on mutual TLS. */
        tls: z
          .object({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            clientCaFile: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
        /** Requests per client (token name, else address) per minute; 0 turns the limit off. */
        rateLimitPerMinute: z.number().int().min(0).default(60000),
        /**
         * Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed (the
         * client address then comes from it); empty (default): the connection's address is the
         * client, whatever the header says.
         */
        trustProxy: z.array(proxyAddress).default([]),
        /**
         * At shutdown, how long open requests and WebSockets get to finish before their
         * connections are cut.
         */
        drainSeconds: z.number().min(0).max(300).default(10),
        /**
         * Heavy answers (GraphQL operations, verdicts, Gatekeeper batches, the fleet vulnerability
         * answer) running at once per process; more wait, up to `queue` of them for `maxWaitMs`
         * each, then get 503 with Retry-After. Bounds memory under a burst.
         */
        heavyAnswers: z
          .object({
            concurrency: z.number().int().min(1).max(1000).default(8),
            queue: z.number().int().min(0).max(100_000).default(512),
            maxWaitMs: z.number().int().min(1).max(60_000).default(5000),
          })
          .strict()
          .default({ concurrency: 8, queue: 512, maxWaitMs: 5000 }),
      })
      .strict()
      .default({
        port: 8080,
        host: '0.0.0.0',
        bodyLimitBytes: 1024 * 1024,
        logLevel: 'info',
        rateLimitPerMinute: 60000,
        trustProxy: [],
        drainSeconds: 10,
        heavyAnswers: { concurrency: 8, queue: 512, maxWaitMs: 5000 },
      }),
    auth: auth.default({ tokens: [] }),
    worker: z
      .object({
        enabled: z.boolean().default(true),
        concurrency: z.number().int().min(1).max(256).default(8),
        maxAttempts: z.number().int().min(1).max(100).default(12),
        pollIntervalMs: z.number().int().min(50).default(2000),
        /**
         * The worker role's own HTTP listener (probes and metrics only; WORKER_PORT overrides the
         * port). Plain HTTP: it serves no data. Unused when the process also runs the api.
         */
        port: z.number().int().min(0).max(65535).default(8081),
        host: z.string().default('0.0.0.0'),
      })
      .strict()
      .default({
        enabled: true,
        concurrency: 8,
        maxAttempts: 12,
        pollIntervalMs: 2000,
        port: 8081,
        host: '0.0.0.0',
      }),
    sync: z
      .object({
        /** Seconds between reconcile runs of every registry; 0 turns the periodic reconcile off. */
        reconcileIntervalSeconds: z.number().int().min(0).default(0),
        /** Requests in flight per registry during sync and reconcile. */
        concurrency: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .default({ reconcileIntervalSeconds: 0, concurrency: 4 }),
    registries: z.array(registry).default([]),
    /** GraphQL: a response body over maxResponseBytes is replaced by a RESPONSE_TOO_LARGE error. */
    graphql: z
      .object({
        maxResponseBytes: z
          .number()
          .int()
          .min(1024)
          .default(4 * 1024 * 1024),
        /**
         * Open WebSocket connections per client (token name, else address) in each process; past
         * it a handshake is refused (429) or its connection_init closed (4429). 0 turns it off.
         */
        maxSocketsPerClient: z.number().int().min(0).default(32),
      })
      .strict()
      .default({ maxResponseBytes: 4 * 1024 * 1024, maxSocketsPerClient: 32 }),
    trust: trust.default({ trustedRoot: 'public-good', authorities: [], repositories: [] }),
    policies: z.array(policy).default([]),
    limits: limits.default(DEFAULT_LIMITS),
    registryView: registryView.default({
      tagMaxAgeSeconds: 30,
      maxBlobBytes: 8 * 1024 * 1024 * 1024,
      tokenTtlSeconds: 300,
    }),
    database,
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const authorities = new Set(cfg.trust.authorities.map((a) => a.name));
    const known = (names: string[] | undefined, path: (string | number)[]) =>
      (names ?? []).forEach((n, j) => {
        if (!authorities.has(n))
          ctx.addIssue({ code: 'custom', path: [...path, j], message: `unknown authority "${n}"` });
      });
    cfg.trust.repositories.forEach((r, i) =>
      known(r.authorities, ['trust', 'repositories', i, 'authorities']),
    );
    cfg.policies.forEach((p, i) => {
      known(p.signatures?.authorities, ['policies', i, 'signatures', 'authorities']);
      p.attestations.forEach((a, j) =>
        known(a.authorities, ['policies', i, 'attestations', j, 'authorities']),
      );
    });
    if (cfg.trust.tuf && cfg.trust.tuf.mirrorUrl === undefined && cfg.trust.trustedRoot !== 'public-good') {
      ctx.addIssue({
        code: 'custom',
        path: ['trust', 'tuf', 'mirrorUrl'],
        message:
          'the public-good TUF repository refreshes the public-good root; a private trusted root needs its own mirrorUrl and rootFile',
      });
    }
    cfg.trust.authorities.forEach((a, i) => {
      for (const key of ['issuerRegExp', 'subjectRegExp'] as const) {
        const re = a.keyless?.[key];
        if (!re) continue;
        try {
          new RegExp(re);
        } catch {
          ctx.addIssue({
            code: 'custom',
            path: ['trust', 'authorities', i, 'keyless', key],
            message: 'invalid regular expression',
          });
        }
      }
    });
    const seen = new Set<string>();
    cfg.registries.forEach((r, i) => {
      if (seen.has(r.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['registries', i, 'name'],
          message: `duplicate registry name "${r.name}"`,
        });
      }
      seen.add(r.name);
    });
  });

export type RefgraphConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type RegistryConfigInput = ParsedConfig['registries'][number];
export type WebhookAuthConfig = RegistryConfigInput['webhook']['auth'];
export type TrustConfig = ParsedConfig['trust'];
export type AuthorityConfig = TrustConfig['authorities'][number];
export type TufConfig = NonNullable<TrustConfig['tuf']>;
export type PolicyConfig = ParsedConfig['policies'][number];
export type AuthConfig = ParsedConfig['auth'];
export type LimitsConfig = ParsedConfig['limits'];
export type RegistryViewConfigInput = ParsedConfig['registryView'];
export type ReadReplicasConfig = ParsedConfig['database']['readReplicas'];
export type ReadTimeoutsConfig = ParsedConfig['database']['reads'];
