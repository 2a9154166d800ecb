import { X509Certificate } from 'node:crypto';
import { X509Certificate as Asn1Certificate } from '@sigstore/core';
import { VerificationFailure } from '../result.js';
import { dnFromDer, type DistinguishedName } from './distinguished-name.js';

/** A certificate parsed twice: node:crypto for keys and signatures, ASN.1 for extensions and names. */
export interface ChainCertificate {
  x509: X509Certificate;
  asn1: Asn1Certificate;
  subject: DistinguishedName;
}

const EKU_EXTENSION = '2.5.29.37';
const EKU = {
  any: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

/** Signature algorithms the specification forbids anywhere in the chain (SHA-1, MD5, MD2). */
const WEAK_SIGNATURE_OIDS = new Set([
  '1.2.840.113549.1.1.2',
  '1.2.840.113549.1.1.4',
  '1.2.840.113549.1.1.5',
  '1.2.840.10045.4.1',
]);

// keyUsage bit positions (RFC 5280 4.2.1.3).
const KU_DIGITAL_SIGNATURE = 0;
/** keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign, encipherOnly, decipherOnly. */
const KU_FORBIDDEN_FOR_SIGNER = [2, 3, 4, 5, 6, 7, 8];

export function parseCertificate(der: Buffer, label: string): ChainCertificate {
  try {
    const x509 = new X509Certificate(der);
    // The key is decoded lazily; a corrupted one must fail here, not at its first use.
    void x509.publicKey;
    const asn1 = Asn1Certificate.parse(Buffer.from(x509.raw));
    return { x509, asn1, subject: dnFromDer(subjectDer(asn1)) };
  } catch (err) {
    throw new VerificationFailure('bundle_malformed', `${label} is not a valid X.509 certificate`, {
      cause: err,
    });
  }
}

function subjectDer(cert: Asn1Certificate): Buffer<ArrayBuffer> {
  // tbsCertificate: [0] version (absent in v1), serialNumber, signature, issuer, validity, subject.
  const tbs = cert.tbsCertificate.subs;
  const offset = tbs[0]?.tag.isContextSpecific(0) ? 1 : 0;
  const subject = tbs[4 + offset];
  if (!subject) throw new Error('tbsCertificate has no subject');
  return Buffer.from(subject.toDER());
}

/** Parses the trust store: each entry holds one or more PEM certificates. */
export function parseTrustStore(pems: readonly string[], what = 'trust store'): X509Certificate[] {
  const certs: X509Certificate[] = [];
  pems.forEach((pem, index) => {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) {
      throw new VerificationFailure('policy_invalid', `${what} entry ${index} holds no PEM certificate`);
    }
    for (const block of blocks) {
      try {
        certs.push(new X509Certificate(block));
      } catch (err) {
        throw new VerificationFailure(
          'policy_invalid',
          `${what} entry ${index} holds an invalid certificate`,
          {
            cause: err,
          },
        );
      }
    }
  });
  return certs;
}

/** What the leaf of a chain is for: signing artifacts, or a TSA signing timestamps. */
export type ChainPurpose = 'codeSigning' | 'timeStamping';

/**
 * Checks the chain's structure and the specification's certificate requirements: leaf first, each
 * certificate issued and signed by the next, ending in a self-signed root; CA certificates with
 * critical basicConstraints cA=true and critical keyUsage keyCertSign (path length honoured); no
 * SHA-1 or MD5 signatures. A code signing leaf has a critical keyUsage digitalSignature and an
 * extendedKeyUsage, if present, free of anyExtendedKeyUsage/serverAuth/clientAuth/emailProtection/
 * timeStamping; a timestamping leaf has keyUsage digitalSignature and a critical extendedKeyUsage
 * of timeStamping only (RFC 3161 2.3). Validity periods are checked separately (`assertValidAt`).
 */
export function validateChain(
  chain: readonly ChainCertificate[],
  purpose: ChainPurpose = 'codeSigning',
): void {
  chain.forEach((cert, i) => {
    const issuer = chain[i + 1];
    // OpenSSL's issuer check requires keyCertSign on the issuer, which a self-signed signing
    // certificate (a chain of one) lacks; a root is therefore checked by name and signature.
    const linked = issuer
      ? cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.x509.publicKey)
      : cert.asn1.issuer.equals(cert.asn1.subject) && cert.x509.verify(cert.x509.publicKey);
    if (!linked) {
      throw untrusted(
        i === chain.length - 1
          ? 'the certificate chain does not end in a self-signed root certificate'
          : `certificate ${i} of the chain is not issued by certificate ${i + 1}`,
      );
    }
    const sigAlg = cert.asn1.root.subs[1]?.subs[0]?.toOID();
    if (sigAlg && WEAK_SIGNATURE_OIDS.has(sigAlg)) {
      throw untrusted(`certificate ${i} of the chain is signed with a forbidden algorithm (${sigAlg})`);
    }
    if (i === 0 && purpose === 'timeStamping') validateTimestamper(cert);
    else if (i === 0) validateSigner(cert);
    else validateAuthority(cert, i);
  });
}

function validateSigner(cert: ChainCertificate): void {
  const basic = cert.asn1.extBasicConstraints;
  if (basic?.isCA) throw untrusted('the signing certificate is a CA certificate (basicConstraints cA=true)');
  const usage = cert.asn1.extKeyUsage;
  if (!usage || !usage.critical)
    throw untrusted('the signing certificate has no critical keyUsage extension');
  const bits = usage.valueObj.subs[0]?.toBitString() ?? [];
  if (bits[KU_DIGITAL_SIGNATURE] !== 1)
    throw untrusted('the signing certificate keyUsage lacks digitalSignature');
  if (KU_FORBIDDEN_FOR_SIGNER.some((bit) => bits[bit] === 1)) {
    throw untrusted(
      'the signing certificate keyUsage allows more than signing (e.g. keyCertSign or keyEncipherment)',
    );
  }
  const eku = cert.x509.keyUsage as string[] | undefined;
  const forbidden = (eku ?? []).filter((oid) => (Object.values(EKU) as string[]).includes(oid));
  if (forbidden.length > 0) {
    throw untrusted(
      `the signing certificate extendedKeyUsage includes ${forbidden.join(', ')}, not code signing`,
    );
  }
}

function validateTimestamper(cert: ChainCertificate): void {
  if (cert.asn1.extBasicConstraints?.isCA) {
    throw untrusted('the TSA certificate is a CA certificate (basicConstraints cA=true)');
  }
  const bits = cert.asn1.extKeyUsage?.valueObj.subs[0]?.toBitString() ?? [];
  if (bits[KU_DIGITAL_SIGNATURE] !== 1)
    throw untrusted('the TSA certificate keyUsage lacks digitalSignature');
  const eku = cert.x509.keyUsage as string[] | undefined;
  if (!cert.asn1.extension(EKU_EXTENSION)?.critical || eku?.length !== 1 || eku[0] !== EKU.timeStamping) {
    throw untrusted('the TSA certificate needs a critical extendedKeyUsage of timeStamping only');
  }
}

function validateAuthority(cert: ChainCertificate, index: number): void {
  const basic = cert.asn1.extBasicConstraints;
  if (!basic || !basic.critical || !basic.isCA) {
    throw untrusted(
      `certificate ${index} of the chain is not a CA (critical basicConstraints cA=true required)`,
    );
  }
  const pathLen = basic.pathLenConstraint;
  // Certificates below this one, excluding the signing certificate, are intermediate CAs.
  if (pathLen !== undefined && BigInt(index - 1) > pathLen) {
    throw untrusted(`certificate ${index} of the chain exceeds its path length constraint ${pathLen}`);
  }
  const usage = cert.asn1.extKeyUsage;
  if (!usage || !usage.critical || !usage.keyCertSign) {
    throw untrusted(`certificate ${index} of the chain lacks a critical keyUsage with keyCertSign`);
  }
}

/** The first certificate of the chain (from the leaf up) that is byte-identical to one in the store. */
export function findTrustAnchor(
  chain: readonly ChainCertificate[],
  store: readonly X509Certificate[],
): ChainCertificate | undefined {
  return chain.find((cert) => store.some((trusted) => trusted.raw.equals(cert.x509.raw)));
}

/** Every certificate of the chain must be valid (notBefore <= at <= notAfter) at `at`. */
export function assertValidAt(chain: readonly ChainCertificate[], at: Date, when: string): void {
  chain.forEach((cert, i) => {
    const { notBefore, notAfter } = cert.asn1;
    const which = i === 0 ? 'the signing certificate' : `certificate ${i} of the chain`;
    if (at < notBefore) {
      throw new VerificationFailure(
        'certificate_time_invalid',
        `${which} is not valid yet at ${when} ${at.toISOString()} (notBefore ${notBefore.toISOString()})`,
      );
    }
    if (at > notAfter) {
      throw new VerificationFailure(
        'certificate_time_invalid',
        `${which} has expired at ${when} ${at.toISOString()} (notAfter ${notAfter.toISOString()})`,
      );
    }
  });
}

function untrusted(message: string): VerificationFailure {
  return new VerificationFailure('certificate_untrusted', message);
}

/**
 * Orders an unordered bag of certificates (a CMS `certificates` field plus trust store roots) into
 * a chain from `leaf` up: each step takes the first candidate that issued and signed the current
 * certificate, until a self-signed certificate or no issuer is found. Bounded by `maxLength`.
 */
export function buildChain(
  leaf: ChainCertificate,
  candidates: readonly ChainCertificate[],
  maxLength = 8,
): ChainCertificate[] {
  const chain = [leaf];
  let current = leaf;
  while (chain.length < maxLength) {
    if (current.asn1.issuer.equals(current.asn1.subject) && current.x509.verify(current.x509.publicKey))
      break;
    const next = candidates.find(
      (c) => !chain.includes(c) && current.x509.checkIssued(c.x509) && current.x509.verify(c.x509.publicKey),
    );
    if (!next) break;
    chain.push(next);
    current = next;
  }
  return chain;
}
