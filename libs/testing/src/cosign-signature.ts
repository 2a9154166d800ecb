import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { blobOf, OCI_CONFIG, OCI_MANIFEST, type PushableContent } from './oci-builders.js';

/** Test-only: cosign's legacy signature format, built from real signatures. */

export const SIMPLESIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

/** The simplesigning payload cosign signs for an image. */
export function simpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
  optional: object | null = null,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: 'cosign container image signature',
      },
      optional,
    }),
  );
}

/**
 * The layer annotations cosign writes for a keyless signature, taken from a Sigstore message
 * signature bundle over the same payload: signature, leaf certificate (PEM) and the Rekor entry
 * with its signed entry timestamp.
 */
export function cosignAnnotationsFromBundle(bundle: SerializedBundle): Record<string, string> {
  const content = bundle as unknown as {
    messageSignature: { signature: string };
    verificationMaterial: {
      certificate?: { rawBytes: string };
      x509CertificateChain?: { certificates: { rawBytes: string }[] };
      tlogEntries: {
        logIndex: string;
        logId: { keyId: string };
        integratedTime: string;
        inclusionPromise: { signedEntryTimestamp: string };
        canonicalizedBody: string;
      }[];
    };
  };
  const vm = content.verificationMaterial;
  const der = vm.certificate?.rawBytes ?? vm.x509CertificateChain?.certificates[0]?.rawBytes;
  const entry = vm.tlogEntries[0]!;
  const annotations: Record<string, string> = {
    'dev.cosignproject.cosign/signature': content.messageSignature.signature,
    'dev.sigstore.cosign/bundle': JSON.stringify({
      SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
      Payload: {
        body: entry.canonicalizedBody,
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
      },
    }),
  };
  if (der) annotations['dev.sigstore.cosign/certificate'] = pem(der);
  return annotations;
}

/** A keyed cosign signature without a log entry (`cosign sign --key --tlog-upload=false`). */
export function cosignKeyedAnnotations(payload: Buffer, privateKey: KeyObject): Record<string, string> {
  return {
    'dev.cosignproject.cosign/signature': cryptoSign('sha256', payload, privateKey).toString('base64'),
  };
}

/** A `.sig` manifest: one simplesigning layer per signature, as cosign appends them. */
export function cosignSignatureManifest(
  layers: { payload: Buffer; annotations: Record<string, string> }[],
): PushableContent {
  const config = blobOf(
    Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] } })),
  );
  const blobs = layers.map((l) => blobOf(l.payload));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.bytes.length },
      layers: layers.map((l, i) => ({
        mediaType: SIMPLESIGNING,
        digest: blobs[i]!.digest,
        size: l.payload.length,
        annotations: l.annotations,
      })),
    }),
  );
  return {
    manifest,
    digest: blobOf(manifest).digest,
    mediaType: OCI_MANIFEST,
    size: manifest.length,
    blobs: [config, ...blobs],
  };
}

function pem(derBase64: string): string {
  const lines = derBase64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
