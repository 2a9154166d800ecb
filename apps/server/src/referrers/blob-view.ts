/** blobs/<digest> of the registry view: streamed from the registry, checked as the bytes pass. */
import type { FastifyReply } from 'fastify';
import type { RegistryCatalog } from '#ingest';
import { InvalidDigestError, parseDigest } from '#oci';
import { RegistryClient } from '#registry';
import type { RegistryViewRepository } from '#store';
import type { Logger } from 'pino';
import { decideViewAccess, type Viewer } from '#answers';
import { ViewError, viewDenied, viewErrorFor } from './view-errors.js';
import type { ViewMetrics } from './view.metrics.js';

export interface BlobRequest {
  viewer: Viewer;
  registry: string;
  repository: string;
  reference: string;
  method: 'GET' | 'HEAD';
  range?: string;
}

export interface BlobViewDeps {
  view: RegistryViewRepository;
  catalog: RegistryCatalog;
  metrics: ViewMetrics;
  maxBytes: number;
  logger: Logger;
}

/**
 * Blobs are not stored by refgraph; they are streamed from the registry with refgraph's pull
 * credentials once the caller's scope covers the repository. Which repository holds a blob is
 * refgraph's record, not the registry's: a blob is served only where a manifest recorded in that
 * repository names it (or one the view pulled through from there), since refgraph's
 * credentials may reach blobs the registry does not scope by repository. Nothing is cached.
 */
export class BlobView {
  constructor(private readonly d: BlobViewDeps) {}

  async send(req: BlobRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (decideViewAccess(req.viewer, req.registry, req.repository) === 'denied') {
      throw viewDenied(req.registry, req.repository);
    }
    let digest: string;
    try {
      digest = parseDigest(req.reference);
    } catch (err) {
      if (err instanceof InvalidDigestError) throw new ViewError(400, 'DIGEST_INVALID', err.message);
      throw err;
    }
    const range = req.range === undefined ? undefined : byteRange(req.range);
    const client = this.d.catalog.byName(req.registry)?.client;
    if (!(client instanceof RegistryClient)) {
      throw new ViewError(404, 'BLOB_UNKNOWN', `registry ${req.registry} cannot serve blobs`);
    }
    if (!(await this.d.view.blobLinked(req.registry, req.repository, digest))) {
      throw new ViewError(
        404,
        'BLOB_UNKNOWN',
        `no manifest in ${req.registry}/${req.repository} names blob ${digest}`,
      );
    }
    const opened = await this.d.metrics
      .time(req.registry, 'blob', () =>
        client.openBlob(req.repository, digest, {
          method: req.method,
          maxBytes: this.d.maxBytes,
          onBytes: (n) => this.d.metrics.bytesProxied.inc({ registry: req.registry }, n),
          ...(range ? { range } : {}),
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
      this.d.metrics.streamsBroken.inc({ registry: req.registry });
      this.d.logger.warn({ err, registry: req.registry, digest }, 'registry view: blob stream cut off');
    });
    return reply.send(body);
  }
}

/** One byte range: `first-last`, `first-` or `-suffix`. */
const BYTE_RANGE_RE = /^(?:\d{1,15}-\d{0,15}|-\d{1,15})$/;

/**
 * The Range header to pass to the registry: one byte range, as it came. Another unit is ignored
 * (RFC 9110: the whole blob is served); several ranges or a malformed one are refused with 416. A
 * registry would answer several with a multipart body, which cannot be checked like one range.
 */
export function byteRange(header: string): string | undefined {
  const m = /^\s*bytes\s*=\s*(.*?)\s*$/i.exec(header);
  if (!m) return undefined;
  const specs = m[1]!.split(',').map((s) => s.trim());
  const shown = JSON.stringify(header.slice(0, 100));
  if (specs.length > 1) {
    throw new ViewError(416, 'RANGE_INVALID', `Range ${shown}: only one byte range per request is served`);
  }
  if (!BYTE_RANGE_RE.test(specs[0]!)) {
    throw new ViewError(
      416,
      'RANGE_INVALID',
      `Range ${shown} is not a byte range (bytes=first-last, bytes=first- or bytes=-suffix)`,
    );
  }
  const [first, last] = specs[0]!.split('-');
  if (first !== '' && last !== '' && Number(last) < Number(first)) {
    throw new ViewError(416, 'RANGE_INVALID', `Range ${shown}: the last byte comes before the first`);
  }
  return `bytes=${specs[0]}`;
}
