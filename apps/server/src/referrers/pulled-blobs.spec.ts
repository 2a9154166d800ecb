import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { PulledBlobs, type PulledBlobsDeps } from './pulled-blobs.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const CONFIG = `sha256:${'c'.repeat(64)}`;
const LAYER = `sha256:${'1'.repeat(64)}`;
const bytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: CONFIG, size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: LAYER, size: 3 }],
  }),
);
const manifest = { digest: digestOf(bytes), mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes };
const registry = { id: 1, name: 'local' };

function deps(linkBlobs: PulledBlobsDeps['graph']['linkBlobs']) {
  const outcomes: string[] = [];
  const d: PulledBlobsDeps = {
    registries: { ensureRepository: async () => 7 },
    graph: { linkBlobs },
    metrics: { pullThrough: { inc: (l: { outcome: string }) => outcomes.push(l.outcome) } } as never,
    logger: pino({ level: 'silent' }),
  };
  return { d, outcomes };
}

describe('PulledBlobs', () => {
  it("links the manifest's config and layers in the repository it was served from, once", async () => {
    const calls: Array<[number, readonly string[]]> = [];
    const { d } = deps(async (id, digests) => void calls.push([id, digests]));
    const pulled = new PulledBlobs(d);
    await pulled.record(registry, 'team-a/app', manifest);
    await pulled.record(registry, 'team-a/app', manifest);
    expect(calls).toEqual([[7, expect.arrayContaining([CONFIG, LAYER])]]);
    expect(calls[0]![1]).toHaveLength(2);
  });

  it('answers without waiting for a write that hangs, and links once it lands', async () => {
    let land!: () => void;
    const landed = new Promise<void>((resolve) => (land = resolve));
    const { d, outcomes } = deps(() => landed);
    const pulled = new PulledBlobs(d, Date.now, 5);
    // Would never resolve if the answer waited for the write.
    await pulled.record(registry, 'team-a/app', manifest);
    expect(outcomes).toEqual([]);
    land();
    await landed;
  });

  it('counts a failed write and still answers', async () => {
    const { d, outcomes } = deps(async () => {
      throw new Error('database away');
    });
    await new PulledBlobs(d).record(registry, 'team-a/app', manifest);
    expect(outcomes).toEqual(['link_failed']);
  });
});
