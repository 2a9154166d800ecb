// The trust section of the configuration: who counts as a signer, where the trusted root comes
// from and how it is kept fresh, and which authorities count where.
import { z } from 'zod';

/**
 * Who counts as a signer. Verification always pins identity: a keyless authority names the OIDC
 * issuer and the certificate identity (exact, or a regular expression anchored at both ends).
 */
const authority = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" or "-"'),
    keyless: z
      .object({
        issuer: z.string().min(1).optional(),
        issuerRegExp: z.string().min(1).optional(),
        subject: z.string().min(1).optional(),
        subjectRegExp: z.string().min(1).optional(),
      })
      .strict()
      .refine((k) => !!(k.issuer ?? k.issuerRegExp), 'needs issuer or issuerRegExp')
      .refine((k) => !!(k.subject ?? k.subjectRegExp), 'needs subject or subjectRegExp')
      .optional(),
    /** A public key (PEM: ECDSA, Ed25519 or RSA), inline or from a file. Public keys are not secrets. */
    key: z
      .object({ pem: z.string().min(1).optional(), pemFile: z.string().min(1).optional() })
      .strict()
      .refine((k) => !!(k.pem ?? k.pemFile), 'needs pem or pemFile')
      .optional(),
    /**
     * notation: X.509 roots (PEM or DER files) and the certificate subjects trusted under them;
     * optionally the TSA roots (`tsa` store) that RFC 3161 timestamp countersignatures must chain
     * to, and when a timestamp is required (`always`, or `afterCertExpiry` of a signing certificate).
     */
    notation: z
      .object({
        trustStore: z.array(z.string().min(1)).min(1),
        trustedIdentities: z.array(z.string().min(1)).default(['*']),
        tsaTrustStore: z.array(z.string().min(1)).min(1).optional(),
        verifyTimestamp: z.enum(['always', 'afterCertExpiry']).default('always'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => [a.keyless, a.key, a.notation].filter(Boolean).length === 1, {
    message: 'an authority is exactly one of keyless, key or notation',
  });

/**
 * Keeps the trusted root fresh over TUF. Absent: the trusted root is `trustedRoot` as installed or
 * written, never refreshed (air-gapped installs).
 */
const tuf = z
  .object({
    /** A private TUF mirror (http or https); absent: the public-good Sigstore TUF repository. */
    mirrorUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** The mirror's initial TUF root.json (its root of trust); required with mirrorUrl. */
    rootFile: z.string().min(1).optional(),
    /** Verified TUF metadata and the last good trusted root; default: `tuf` beside REFGRAPH_DATA_DIR. */
    cacheDir: z.string().min(1).optional(),
    /** Seconds between refreshes after the one at start-up; 0: at start-up only. */
    refreshIntervalSeconds: z.number().int().min(0).default(3600),
    /** Start-up waits this long for the first refresh, then goes on with the cached or configured root. */
    startupTimeoutSeconds: z.number().min(0).max(120).default(10),
  })
  .strict()
  .refine((t) => (t.mirrorUrl === undefined) === (t.rootFile === undefined), {
    message: 'a private TUF mirror needs both mirrorUrl and rootFile (its initial root.json)',
  });

export const trust = z
  .object({
    /**
     * "public-good" (offline, from the installed sigstore packages) or a trusted_root.json path;
     * with `tuf`, the root used until the first refresh (when nothing is cached).
     */
    trustedRoot: z.string().min(1).default('public-good'),
    tuf: tuf.optional(),
    authorities: z.array(authority).default([]),
    /** Which authorities count where: first matching pattern ("<registry>/<repository glob>") wins. */
    repositories: z
      .array(z.object({ pattern: z.string().min(1), authorities: z.array(z.string().min(1)) }).strict())
      .default([]),
  })
  .strict();
