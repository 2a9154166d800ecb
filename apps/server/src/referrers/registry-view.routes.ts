/**
 * The read-only OCI distribution-spec view of every configured registry, beside the referrers API:
 * /v2/<registry>/<repository>/{manifests,blobs}/<reference> and tags/list. Writes answer 405.
 */
import { routeAccess } from '../auth/access.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryCatalog } from '#ingest';
import type { RegistryViewRepository } from '#store';
import { viewerOf, type ScopedRequest } from '../http/scope.js';
import type { BlobView } from './blob-view.js';
import type { ManifestView, ServedManifest } from './manifest-view.js';
import { decideViewAccess } from '#answers';
import { sendOciError, sendUnexpected, ViewError, viewDenied, viewErrorFor } from './view-errors.js';
import { parseViewPath, queryValue, viewApiOf, type ViewTarget } from './view-path.js';
import type { ViewMetrics } from './view.metrics.js';

const DEFAULT_TAGS_PAGE = 1000;
const MAX_TAGS_PAGE = 10_000;

export interface RegistryViewDeps {
  manifests: ManifestView;
  blobs: BlobView;
  view: RegistryViewRepository;
  catalog: RegistryCatalog;
  metrics: ViewMetrics;
}

type Req = FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>;
type Handler = (req: Req, reply: FastifyReply) => Promise<unknown>;

export class RegistryViewRoutes {
  constructor(private readonly d: RegistryViewDeps) {}

  /** Counts a request of the view's token endpoint, which lives beside the auth code. */
  readonly countToken = (method: string, status: number): void => {
    this.d.metrics.requests.inc({ route: 'token', method, status: String(status) });
  };

  /** Registers the view's routes; `/v2/*` paths that are not the view's go to `referrers`. */
  install(app: FastifyInstance, referrers: Handler): void {
    app.addHook('onResponse', (req, reply, done) => {
      const path = req.url.split('?', 1)[0]!;
      const route = path === '/v2/' ? 'base' : (viewApiOf(path) ?? 'other');
      this.d.metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
      done();
    });
    // A blob stream that fails before its first byte was sent still gets a spec answer (the
    // registry's fault is never a 500); once bytes are out, Fastify can only break the transfer.
    app.setErrorHandler((err, req, reply) => {
      const api = viewApiOf(req.url.split('?', 1)[0]!);
      const mapped = viewErrorFor(err, api === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN');
      void reply.removeHeader('content-length').removeHeader('docker-content-digest');
      return mapped ? sendOciError(reply, mapped) : sendUnexpected(req, reply, err);
    });
    app.route({
      method: ['GET', 'HEAD'],
      url: '/v2/*',
      config: routeAccess('read'),
      handler: async (req: Req, reply) => {
        const path = req.url.split('?', 1)[0]!;
        const api = viewApiOf(path);
        if (api === undefined || api === 'referrers') return referrers(req, reply);
        return this.handle(req, reply, path);
      },
    });
    app.route({
      method: ['PUT', 'POST', 'PATCH', 'DELETE'],
      url: '/v2/*',
      // Refused to everyone with 405 UNSUPPORTED; reading the policy first keeps the walk honest.
      config: routeAccess('read'),
      handler: (_req, reply) =>
        sendOciError(
          reply.header('allow', 'GET, HEAD'),
          new ViewError(405, 'UNSUPPORTED', 'refgraph serves a read-only view: push to the registry itself'),
        ),
    });
  }

  private async handle(req: Req, reply: FastifyReply, path: string): Promise<FastifyReply> {
    let target: ViewTarget | undefined;
    try {
      target = parseViewPath(path);
      const where = {
        viewer: viewerOf(req as ScopedRequest),
        registry: target.registry,
        repository: target.repository,
      };
      // Scope first: outside it, nothing is told, not even whether the registry is configured.
      if (decideViewAccess(where.viewer, where.registry, where.repository) === 'denied')
        throw viewDenied(where.registry, where.repository);
      if (!this.d.catalog.byName(where.registry))
        throw new ViewError(404, 'NAME_UNKNOWN', `no registry named "${where.registry}" is configured`);
      switch (target.api) {
        case 'manifests':
          return sendManifest(req, reply, await this.d.manifests.get(where, target.reference));
        case 'blobs':
          return await this.d.blobs.send(
            {
              ...where,
              reference: target.reference,
              method: req.method === 'HEAD' ? 'HEAD' : 'GET',
              ...(typeof req.headers.range === 'string' ? { range: req.headers.range } : {}),
            },
            reply,
          );
        case 'tags':
          return await this.tags(req, reply, target);
        case 'referrers':
          throw new ViewError(404, 'NAME_UNKNOWN', 'not a registry API path');
      }
    } catch (err) {
      const mapped = viewErrorFor(err, target?.api === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN');
      return mapped ? sendOciError(reply, mapped) : sendUnexpected(req, reply, err);
    }
  }

  /** tags/list from refgraph's record, lexical order, `n` and `last` with a Link to the next page. */
  private async tags(req: Req, reply: FastifyReply, t: ViewTarget): Promise<FastifyReply> {
    if (t.reference !== 'list') throw new ViewError(404, 'NAME_UNKNOWN', 'not a registry API path');
    const limit = tagsCount(queryValue(req.query.n)) ?? DEFAULT_TAGS_PAGE;
    // Any text, as in Distribution: the tags after it in byte order (one longer than any tag
    // still has its place among them).
    const last = queryValue(req.query.last) ?? '';
    const pageSize = Math.min(limit, MAX_TAGS_PAGE);
    const rows = await this.d.view.listTags(t.registry, t.repository, last, pageSize + 1);
    if (rows === null)
      throw new ViewError(404, 'NAME_UNKNOWN', `repository ${t.registry}/${t.repository} is not known`);
    const page = rows.slice(0, pageSize);
    if (rows.length > pageSize && page.length > 0) {
      const params = new URLSearchParams({ n: String(pageSize), last: page.at(-1)! });
      void reply.header(
        'link',
        `</v2/${t.registry}/${t.repository}/tags/list?${params.toString()}>; rel="next"`,
      );
    }
    const body = Buffer.from(JSON.stringify({ name: `${t.registry}/${t.repository}`, tags: page }));
    return reply.status(200).header('content-type', 'application/json').send(body);
  }
}

/**
 * Sends a manifest as registries do: its exact bytes and media type (no charset), length and
 * digest; HEAD the same headers without the body. Like Distribution, a manifest whose media type
 * the Accept header does not list is not found for that client.
 */
function sendManifest(req: Req, reply: FastifyReply, m: ServedManifest): FastifyReply {
  if (!accepts(req.headers.accept, m.mediaType)) {
    throw new ViewError(
      404,
      'MANIFEST_UNKNOWN',
      `the manifest is ${m.mediaType}, which the Accept header does not list`,
    );
  }
  void reply
    .status(200)
    .header('content-type', m.mediaType)
    .header('content-length', String(m.bytes.length))
    .header('docker-content-digest', m.digest)
    .header('etag', `"${m.digest}"`);
  return req.method === 'HEAD' ? reply.send() : reply.send(m.bytes);
}

/**
 * Whether the Accept header admits the media type. The most specific entry that matches decides
 * (the type itself, then the application wildcard, then the full one), and a weight of 0 means "not acceptable"
 * (RFC 9110 §12.4.2, §12.5.1). No Accept header admits any type.
 */
export function accepts(accept: string | undefined, mediaType: string): boolean {
  if (!accept || !accept.trim()) return true;
  const wanted = mediaType.toLowerCase();
  const rank = (range: string) =>
    range === wanted ? 3 : range === 'application/*' ? 2 : range === '*/*' ? 1 : 0;
  let best = 0;
  let admitted = false;
  for (const entry of accept.split(',')) {
    const [range = '', ...params] = entry.split(';').map((p) => p.trim().toLowerCase());
    const r = rank(range);
    if (r <= best) continue;
    best = r;
    admitted = !params.some((p) => /^q\s*=\s*0(?:\.0{0,3})?$/.test(p));
  }
  return admitted;
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * `n` of tags/list as Distribution reads it: empty or absent is no `n` (undefined); otherwise Go's
 * strconv.Atoi (an optional sign and decimal digits, within 64 bits), and not negative.
 */
function tagsCount(n: string | undefined): number | undefined {
  if (n === undefined || n === '') return undefined;
  const value = /^[+-]?\d+$/.test(n) ? BigInt(n) : undefined;
  if (value === undefined || value < 0n || value > INT64_MAX)
    throw new ViewError(400, 'PAGINATION_NUMBER_INVALID', 'n must be a non-negative integer');
  return value > BigInt(MAX_TAGS_PAGE) ? MAX_TAGS_PAGE : Number(value);
}
