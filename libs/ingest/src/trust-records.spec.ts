import { createHash } from 'node:crypto';
import { RecordBuilder, type SubjectContext } from '#ingest';
import { IN_TOTO_PAYLOAD_TYPE, TrustPolicy, type LayerTask } from '#verify';

const SLSA = 'https://slsa.dev/provenance/v1';
const subjectHex = 'a'.repeat(64);
const subjects: SubjectContext[] = [
  { digest: `sha256:${subjectHex}`, repositories: [{ repositoryId: 1, scope: 'local/app', rule: null }] },
];
const payload = Buffer.from(
  JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: subjectHex } }],
    predicateType: SLSA,
    predicate: { buildDefinition: { buildType: 'https://example.test/build' } },
  }),
).toString('base64');
/** The same payload with a character outside the alphabet, which Buffer.from(x, 'base64') skips. */
const corrupted = `${payload.slice(0, 10)}*${payload.slice(10)}`;
const envelope = (p: string) => ({
  payloadType: IN_TOTO_PAYLOAD_TYPE,
  payload: p,
  signatures: [{ sig: Buffer.from('sig').toString('base64') }],
});

let policy: TrustPolicy;
beforeAll(async () => {
  policy = await TrustPolicy.load({ trustedRoot: 'public-good', authorities: [], repositories: [] });
});

function recorded(action: LayerTask['action'], mediaType: string, doc: unknown) {
  const blob = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  const builder = new RecordBuilder(policy, `sha256:${'b'.repeat(64)}`, {});
  builder.layer({ layer: { mediaType, digest, size: blob.length }, action, key: digest }, blob, subjects);
  return builder.out.attestations.map((a) => ({ predicateType: a.predicateType, parseError: a.parseError }));
}

describe.each([
  ['a cosign DSSE layer', 'cosign-dsse', 'application/vnd.dsse.envelope.v1+json', (p: string) => envelope(p)],
  [
    'a Sigstore bundle',
    'sigstore-bundle',
    'application/vnd.dev.sigstore.bundle.v0.3+json',
    (p: string) => ({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      dsseEnvelope: envelope(p),
    }),
  ],
] as const)('the statement of %s', (_name, action, mediaType, doc) => {
  it('is recorded from a payload that is base64', () => {
    expect(recorded(action, mediaType, doc(payload))).toEqual([{ predicateType: SLSA, parseError: null }]);
  });

  it('is a parse error when the payload is not base64, not a statement read from what survives', () => {
    expect(recorded(action, mediaType, doc(corrupted))).toEqual([
      { predicateType: 'unknown', parseError: 'DSSE envelope payload is not valid base64' },
    ]);
  });
});
