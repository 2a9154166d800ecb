// RFC 3161 timestamp countersignatures on notation signatures: a TimeStampToken (CMS SignedData
// over a TSTInfo, RFC 5652) whose message imprint is the hash of the envelope's signature value.
import {
  createHash,
  constants,
  verify as cryptoVerify,
  type KeyObject,
  type X509Certificate,
} from 'node:crypto';
import { VerificationFailure } from '../result.js';
import {
  assertValidAt,
  buildChain,
  findTrustAnchor,
  parseCertificate,
  validateChain,
  type ChainCertificate,
} from './certificates.js';
import {
  child,
  contextTag,
  DerError,
  expectTag,
  generalizedTime,
  oid,
  parseDer,
  smallInteger,
  TAG,
  type DerNode,
} from './der.js';
import { formatDn } from './distinguished-name.js';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  /** ETSI baseline time-stamp policy (RFC 3628 5.2): accuracy of one second when none is stated. */
  baselinePolicy: '0.4.0.2023.1.1',
} as const;

const DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms of the signer info; `undefined` hash means "the digestAlgorithm's". */
const SIGNATURES: Record<string, { family: 'rsa' | 'ec'; hash?: string }> = {
  '1.2.840.113549.1.1.1': { family: 'rsa' },
  '1.2.840.113549.1.1.11': { family: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { family: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { family: 'rsa', hash: 'sha512' },
  '1.2.840.10045.2.1': { family: 'ec' },
  '1.2.840.10045.4.3.2': { family: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { family: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { family: 'ec', hash: 'sha512' },
};

/** Tokens are a few kilobytes; anything far larger is not one. */
const MAX_TOKEN_BYTES = 256 * 1024;
const MAX_TOKEN_CERTIFICATES = 16;

export interface VerifiedTimestamp {
  genTime: Date;
  /** genTime widened by the accuracy (RFC 3161 2.4.2): the signature existed no later than `upper`. */
  lower: Date;
  upper: Date;
  /** Subject of the TSA signing certificate. */
  tsa: string;
}

/**
 * Verifies a TimeStampToken over `signature` against TSA roots: structure, message imprint,
 * signed attributes (content type, message digest, signing-certificate-v2), the TSA's signature,
 * the TSA chain (timestamping certificate requirements, a certificate of the store, valid at
 * genTime). Throws `timestamp_invalid`, or `unsupported` for algorithms it does not implement.
 */
export function verifyTimestampToken(
  token: Buffer,
  signature: Buffer,
  tsaStore: readonly X509Certificate[],
): VerifiedTimestamp {
  try {
    return verify(token, signature, tsaStore);
  } catch (err) {
    if (err instanceof DerError) throw invalid(`the token is malformed: ${err.message}`);
    if (
      err instanceof VerificationFailure &&
      err.reason !== 'unsupported' &&
      err.reason !== 'timestamp_invalid'
    ) {
      throw invalid(err.message);
    }
    throw err;
  }
}

function verify(token: Buffer, signature: Buffer, tsaStore: readonly X509Certificate[]): VerifiedTimestamp {
  if (token.length === 0) throw invalid('the timestamp countersignature is empty');
  if (token.length > MAX_TOKEN_BYTES) throw invalid(`the token is larger than ${MAX_TOKEN_BYTES} bytes`);
  const contentInfo = expectTag(parseDer(token), TAG.sequence, 'ContentInfo');
  if (oid(contentInfo.children[0], 'contentType') !== OID.signedData)
    throw invalid('the token is not CMS SignedData');
  const explicit = child(contentInfo, 1, contextTag(0, true), 'ContentInfo content');
  const signedData = expectTag(explicit.children[0], TAG.sequence, 'SignedData');
  const parts = signedData.children;
  // RFC 5652 5.1: version 3 whenever the content is not id-data, which a TSTInfo never is.
  if (smallInteger(parts[0], 'SignedData version') !== 3) throw invalid('the SignedData version is not 3');
  const digestAlgorithms = child(signedData, 1, TAG.set, 'SignedData digestAlgorithms').children;

  const encap = child(signedData, 2, TAG.sequence, 'encapContentInfo');
  if (oid(encap.children[0], 'eContentType') !== OID.tstInfo)
    throw invalid('the token does not carry a TSTInfo');
  const eContent = expectTag(
    child(encap, 1, contextTag(0, true), 'eContent').children[0],
    TAG.octetString,
    'eContent',
  );
  const info = parseTstInfo(eContent.content);

  // Integrity of the countersignature: it is over this envelope's signature value.
  const imprint = createHash(info.imprintHash).update(signature).digest();
  if (!imprint.equals(info.imprint)) throw invalid('the timestamp is over other bytes than this signature');

  const certificates = tokenCertificates(parts.find((p) => p.tag === contextTag(0, true)));
  const signerInfos = expectTag(parts[parts.length - 1], TAG.set, 'signerInfos');
  if (signerInfos.children.length !== 1) throw invalid('the token must carry exactly one signer info');
  const signer = parseSignerInfo(signerInfos.children[0]!);
  if (!digestAlgorithms.some((a) => a.bytes.equals(signer.digestAlgorithm.bytes))) {
    throw invalid('the signer digest algorithm is not listed in the SignedData digestAlgorithms');
  }

  const attributes = signedAttributes(signer.signedAttrs);
  if (oid(single(attributes, OID.contentType), 'content type attribute') !== OID.tstInfo) {
    throw invalid('the signed content type attribute is not TSTInfo');
  }
  const digest = createHash(signer.digest).update(eContent.content).digest();
  if (
    !expectTag(single(attributes, OID.messageDigest), TAG.octetString, 'message digest').content.equals(
      digest,
    )
  ) {
    throw invalid('the signed message digest does not match the TSTInfo');
  }

  const stores = tsaStore.map((cert, i) =>
    parseCertificate(Buffer.from(cert.raw), `tsa trust store certificate ${i}`),
  );
  const tsaCert = findSigner(signer.sid, [...certificates, ...stores]);
  checkSigningCertificateV2(single(attributes, OID.signingCertificateV2), tsaCert);
  checkKey(tsaCert.x509.publicKey, signer.family);
  const signedBytes = Buffer.from(signer.signedAttrs.bytes);
  signedBytes[0] = TAG.set; // signed over the DER of the SET OF, not the [0] IMPLICIT form (RFC 5652 5.4)
  if (!verifySignature(signer, signedBytes, tsaCert.x509.publicKey)) {
    throw invalid('the TSA signature over the signed attributes does not verify');
  }

  // Authenticity: the TSA certificate chains to a TSA root of the trust policy.
  const chain = buildChain(tsaCert, [...certificates, ...stores]);
  const tsa = formatDn(tsaCert.subject);
  try {
    validateChain(chain, 'timeStamping');
  } catch (err) {
    throw invalid(`the TSA certificate chain (${tsa}) is not usable: ${(err as Error).message}`);
  }
  const anchor = findTrustAnchor(chain, tsaStore);
  if (!anchor)
    throw invalid(`the TSA certificate chain (${tsa}) does not lead to a certificate in the tsa trust store`);
  assertValidAt(chain, info.genTime, 'the timestamp genTime');

  return {
    genTime: info.genTime,
    lower: new Date(info.genTime.getTime() - info.accuracyMs),
    upper: new Date(info.genTime.getTime() + info.accuracyMs),
    tsa,
  };
}

interface TstInfo {
  imprintHash: string;
  imprint: Buffer;
  genTime: Date;
  accuracyMs: number;
}

/** TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, accuracy?, ... } */
function parseTstInfo(bytes: Buffer): TstInfo {
  const info = expectTag(parseDer(bytes), TAG.sequence, 'TSTInfo');
  if (smallInteger(info.children[0], 'TSTInfo version') !== 1) throw invalid('TSTInfo version is not 1');
  const policy = oid(info.children[1], 'TSTInfo policy');
  const messageImprint = child(info, 2, TAG.sequence, 'messageImprint');
  const imprintHash = digestName(messageImprint.children[0], 'messageImprint hash algorithm');
  const imprint = child(messageImprint, 1, TAG.octetString, 'messageImprint hashedMessage').content;
  expectTag(info.children[3], TAG.integer, 'TSTInfo serialNumber');
  const genTime = generalizedTime(info.children[4], 'TSTInfo genTime');
  const accuracy = info.children[5]?.tag === TAG.sequence ? info.children[5] : undefined;
  const accuracyMs = accuracy ? accuracyOf(accuracy) : policy === OID.baselinePolicy ? 1000 : 0;
  return { imprintHash, imprint, genTime, accuracyMs };
}

/** Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] 1..999 OPTIONAL, micros [1] 1..999 OPTIONAL } */
function accuracyOf(node: DerNode): number {
  let ms = 0;
  for (const part of node.children) {
    if (part.tag === TAG.integer) {
      const seconds = smallInteger(part, 'accuracy seconds');
      if (seconds > 86_400 * 366) throw invalid('the timestamp accuracy is longer than a year');
      ms += seconds * 1000;
    } else if (part.tag === contextTag(0, false) || part.tag === contextTag(1, false)) {
      const value = smallInteger(part, 'accuracy fraction', part.tag);
      if (value < 1 || value > 999) throw invalid('the timestamp accuracy fraction is out of range');
      ms += part.tag === contextTag(0, false) ? value : Math.ceil(value / 1000);
    } else {
      throw invalid('the timestamp accuracy is malformed');
    }
  }
  return ms;
}

interface SignerInfo {
  sid: DerNode;
  digestAlgorithm: DerNode;
  digest: string;
  signedAttrs: DerNode;
  family: 'rsa' | 'ec';
  signatureHash: string;
  signature: Buffer;
}

/** SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm, signature, [1]? } */
function parseSignerInfo(node: DerNode): SignerInfo {
  const info = expectTag(node, TAG.sequence, 'SignerInfo');
  const [version, sid, digestAlgorithm, signedAttrs, signatureAlgorithm, signature] = info.children;
  if (!sid || !digestAlgorithm) throw invalid('the signer info has no signer identifier');
  // RFC 5652 5.3: version 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  if (smallInteger(version, 'SignerInfo version') !== (sid.tag === TAG.sequence ? 1 : 3)) {
    throw invalid('the SignerInfo version does not fit its signer identifier');
  }
  const digest = digestName(digestAlgorithm, 'signer digest algorithm');
  if (!signedAttrs || signedAttrs.tag !== contextTag(0, true))
    throw invalid('the signer info has no signed attributes');
  const algorithm = expectTag(signatureAlgorithm, TAG.sequence, 'signature algorithm');
  const algorithmOid = oid(algorithm.children[0], 'signature algorithm');
  const known = SIGNATURES[algorithmOid];
  if (!known) throw unsupported(`the TSA signature algorithm ${algorithmOid} is not supported`);
  return {
    sid,
    digestAlgorithm,
    digest,
    signedAttrs,
    family: known.family,
    signatureHash: known.hash ?? digest,
    signature: expectTag(signature, TAG.octetString, 'signature').content,
  };
}

/** Signed attributes by type; each type at most once. */
function signedAttributes(node: DerNode): Map<string, DerNode[]> {
  const attributes = new Map<string, DerNode[]>();
  for (const attribute of node.children) {
    expectTag(attribute, TAG.sequence, 'signed attribute');
    const type = oid(attribute.children[0], 'signed attribute type');
    if (attributes.has(type)) throw invalid(`the signed attribute ${type} appears more than once`);
    attributes.set(type, child(attribute, 1, TAG.set, `signed attribute ${type} values`).children);
  }
  return attributes;
}

function single(attributes: Map<string, DerNode[]>, type: string): DerNode {
  const values = attributes.get(type);
  if (!values || values.length !== 1)
    throw invalid(`the signed attribute ${type} is missing or has several values`);
  return values[0]!;
}

function tokenCertificates(node: DerNode | undefined): ChainCertificate[] {
  const certs = (node?.children ?? []).filter((c) => c.tag === TAG.sequence);
  if (certs.length > MAX_TOKEN_CERTIFICATES)
    throw invalid(`the token carries more than ${MAX_TOKEN_CERTIFICATES} certificates`);
  return certs.map((c, i) => parseCertificate(Buffer.from(c.bytes), `timestamp certificate ${i}`));
}

/** The certificate named by the signer identifier: issuerAndSerialNumber or [0] subjectKeyIdentifier. */
function findSigner(sid: DerNode, candidates: readonly ChainCertificate[]): ChainCertificate {
  let match: (c: ChainCertificate) => boolean;
  if (sid.tag === TAG.sequence) {
    // @sigstore/core gives the issuer Name's content, without its SEQUENCE header.
    const issuer = child(sid, 0, TAG.sequence, 'signer issuer').content;
    const serial = child(sid, 1, TAG.integer, 'signer serial number').content;
    match = (c) => c.asn1.issuer.equals(issuer) && c.asn1.serialNumber.equals(serial);
  } else if (sid.tag === contextTag(0, false)) {
    match = (c) => c.asn1.extSubjectKeyID?.keyIdentifier.equals(sid.content) ?? false;
  } else {
    throw invalid('the signer identifier is malformed');
  }
  const found = candidates.find(match);
  if (!found) throw invalid('the TSA signing certificate is not in the token');
  return found;
}

/** SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, ... }; the first names the signer. */
function checkSigningCertificateV2(value: DerNode, tsaCert: ChainCertificate): void {
  const certs = child(
    expectTag(value, TAG.sequence, 'signing-certificate-v2'),
    0,
    TAG.sequence,
    'ESSCertIDv2 list',
  );
  const first = expectTag(certs.children[0], TAG.sequence, 'ESSCertIDv2');
  const hasAlgorithm = first.children[0]?.tag === TAG.sequence;
  const hash = hasAlgorithm ? digestName(first.children[0], 'ESSCertIDv2 hash algorithm') : 'sha256';
  const certHash = child(first, hasAlgorithm ? 1 : 0, TAG.octetString, 'ESSCertIDv2 certHash').content;
  if (!createHash(hash).update(tsaCert.x509.raw).digest().equals(certHash)) {
    throw invalid('the signing-certificate-v2 attribute does not name the TSA signing certificate');
  }
}

/** The specification's key requirements: RSA of 2048 bits or more, ECDSA on P-256, P-384 or P-521. */
function checkKey(key: KeyObject, family: 'rsa' | 'ec'): void {
  const details = key.asymmetricKeyDetails ?? {};
  const ok =
    family === 'rsa'
      ? key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048
      : key.asymmetricKeyType === 'ec' &&
        ['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '');
  if (!ok)
    throw invalid(
      `the TSA key (${key.asymmetricKeyType ?? 'unknown'}) does not fit its signature algorithm or is too weak`,
    );
}

function verifySignature(signer: SignerInfo, data: Buffer, key: KeyObject): boolean {
  try {
    return signer.family === 'rsa'
      ? cryptoVerify(
          signer.signatureHash,
          data,
          { key, padding: constants.RSA_PKCS1_PADDING },
          signer.signature,
        )
      : cryptoVerify(signer.signatureHash, data, { key, dsaEncoding: 'der' }, signer.signature);
  } catch {
    return false;
  }
}

/** AlgorithmIdentifier of a hash: SHA-256, SHA-384 or SHA-512, with absent or NULL parameters. */
function digestName(node: DerNode | undefined, what: string): string {
  const algorithm = expectTag(node, TAG.sequence, what);
  const name = DIGESTS[oid(algorithm.children[0], what)];
  if (!name) throw unsupported(`the ${what} is not SHA-256, SHA-384 or SHA-512`);
  const params = algorithm.children[1];
  if (algorithm.children.length > 2 || (params && params.tag !== TAG.null))
    throw invalid(`the ${what} has parameters`);
  return name;
}

function invalid(message: string): VerificationFailure {
  return new VerificationFailure('timestamp_invalid', message);
}

function unsupported(message: string): VerificationFailure {
  return new VerificationFailure('unsupported', `timestamp: ${message}`);
}
