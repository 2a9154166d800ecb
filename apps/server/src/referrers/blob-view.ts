/** blobs/<digest> of the registry view: streamed from the registry, checked as the bytes pass. */
import type { FastifyReply } from 'fastify';
import type { RegistryCatalog } from '#ingest';
import { InvalidDigestError, parseDigest } from '#oci';
import { RegistryClient } from '#registry';
import type { Logger } from 'pino';
import { decideViewAccess, type Viewer } from '#answers';
import { ViewError, viewErrorFor } from './view-errors.js';
import type { ViewMetrics } from './view.metrics.js';

export interface BlobRequest {
  viewer: Viewer;
  registry: string;
  repository: string;
  reference: string;
  method: 'GET' | 'HEAD';
  range?: string;
}

/**
 * Blobs are not stored by refgraph, so there is no presence record to consult: the registry's own
 * repository decides whether the blob is there (Distribution serves only blobs linked into that
 * repository), reached with refgraph's pull credentials once the caller's scope covers the
 * repository. Nothing is cached.
 */
export class BlobView {
  constructor(
    private readonly catalog: RegistryCatalog,
    private readonly metrics: ViewMetrics,
    private readonly maxBytes: number,
    private readonly logger: Logger,
  ) {}

  async send(req: BlobRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (decideViewAccess(req.viewer, req.registry, req.repository) === 'denied') {
      throw new ViewError(403, 'DENIED', `this token may not read ${req.registry}/${req.repository}`);
    }
    let digest: string;
    try {
      digest = parseDigest(req.reference);
    } catch (err) {
      if (err instanceof InvalidDigestError) throw new ViewError(400, 'DIGEST_INVALID', err.message);
      throw err;
    }
    const client = this.catalog.byName(req.registry)?.client;
    if (!(client instanceof RegistryClient)) {
      throw new ViewError(404, 'BLOB_UNKNOWN', `registry ${req.registry} cannot serve blobs`);
    }
    const opened = await this.metrics
      .time(req.registry, 'blob', () =>
        client.openBlob(req.repository, digest, {
          method: req.method,
          maxBytes: this.maxBytes,
          onBytes: (n) => this.metrics.bytesProxied.inc({ registry: req.registry }, n),
          ...(req.range ? { range: req.range } : {}),
        }),
      )
      .catch((err: unknown) => {
        throw viewErrorFor(err, 'BLOB_UNKNOWN') ?? err;
      });
    if (opened.status === 416) {
      if (opened.contentRange) void reply.header('content-range', opened.contentRange);
      return reply.status(416).send();
    }
    void reply
      .status(opened.status)
      .header('content-type', 'application/octet-stream')
      .header('docker-content-digest', digest)
      .header('accept-ranges', 'bytes');
    if (opened.length !== undefined) void reply.header('content-length', String(opened.length));
    if (opened.contentRange) void reply.header('content-range', opened.contentRange);
    const body = opened.body;
    if (!body) return reply.send();
    body.once('error', (err) => {
      // The response is under way: the only honest signal left is a broken transfer.
      this.metrics.streamsBroken.inc({ registry: req.registry });
      this.logger.warn({ err, registry: req.registry, digest }, 'registry view: blob stream cut off');
    });
    return reply.send(body);
  }
}
