import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decideViewAccess } from '#answers';
import { InvalidDigestError, MediaType, parseDigest } from '#oci';
import type { RegistryCatalog } from '#ingest';
import type { ReferrersRepository } from '#store';
import { routeAccess } from '../auth/access.js';
import { viewerOf, type ScopedRequest } from '../http/scope.js';
import type { RegistryViewRoutes } from './registry-view.routes.js';
import { sendOciError, ViewError, viewDenied, type OciErrorCode } from './view-errors.js';
import { queryValue } from './view-path.js';

const DEFAULT_PAGE = 500;
const MAX_PAGE = 1000;
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** What Distribution sends on every /v2 response, errors included; Docker's ping reads it from the 401. */
const API_VERSION = 'registry/2.0';

/** OCI error bodies as the distribution spec defines them, so OCI clients can read them. */
function ociError(reply: FastifyReply, status: number, code: OciErrorCode, message: string) {
  return sendOciError(reply, new ViewError(status, code, message));
}

/**
 * The OCI distribution-spec 1.1 referrers API, served for every configured registry under
 * /v2/<registry-name>/<repository>/referrers/<digest>, whether or not the registry has one.
 * A plain Fastify route: it is the hottest read path, and Nest's routing layer measurably costs
 * here (bench/RESULTS.md). Authentication still applies: the auth hook runs for every route.
 * With `view`, the rest of the registry API is served beside it (registry-view.routes.ts).
 */
export function referrersRoutes(
  referrers: ReferrersRepository,
  catalog: RegistryCatalog,
  view?: RegistryViewRoutes,
) {
  const handle = async (
    req: FastifyRequest<{ Querystring: Record<string, string | string[] | undefined> }>,
    reply: FastifyReply,
  ) => {
    const query = req.query;
    const path = req.url.split('?', 1)[0]!.slice('/v2/'.length);
    const at = path.lastIndexOf('/referrers/');
    if (at <= 0) return ociError(reply, 404, 'NAME_UNKNOWN', 'not a registry API path refgraph serves');
    let name: string;
    let rawDigest: string;
    try {
      name = decodeURIComponent(path.slice(0, at));
      rawDigest = decodeURIComponent(path.slice(at + '/referrers/'.length));
    } catch {
      return ociError(reply, 400, 'NAME_INVALID', 'malformed percent-encoding in the path');
    }
    const slash = name.indexOf('/');
    const registry = slash > 0 ? name.slice(0, slash) : '';
    const repository = slash > 0 ? name.slice(slash + 1) : '';
    if (!REPOSITORY_RE.test(repository) || repository.length > 255) {
      return ociError(reply, 400, 'NAME_INVALID', 'invalid repository name');
    }
    // Outside the caller's scope: the view's one answer (403 DENIED), whether or not the registry
    // is configured (checked after the scope, so the answer tells nothing about that). Never a
    // 404: a client takes a 404 here for a registry without the API and falls back to tags.
    if (decideViewAccess(viewerOf(req as ScopedRequest), registry, repository) === 'denied') {
      return sendOciError(reply, viewDenied(registry, repository));
    }
    if (!catalog.byName(registry)) {
      return ociError(reply, 404, 'NAME_UNKNOWN', `no registry named "${registry}" is configured`);
    }
    let subject: string;
    try {
      subject = parseDigest(rawDigest);
    } catch (err) {
      if (err instanceof InvalidDigestError) return ociError(reply, 400, 'DIGEST_INVALID', err.message);
      throw err;
    }
    const artifactType = queryValue(query.artifactType);
    if (artifactType?.includes('\u0000'))
      return ociError(reply, 400, 'UNSUPPORTED', 'artifactType must not contain a NUL character');
    const last = queryValue(query.last);
    if (last !== undefined && !isCursor(last))
      return ociError(reply, 400, 'PAGINATION_NUMBER_INVALID', 'invalid last');
    const n = queryValue(query.n);
    const limit = n === undefined ? DEFAULT_PAGE : Number(n);
    if (!Number.isInteger(limit) || limit < 1)
      return ociError(reply, 400, 'PAGINATION_NUMBER_INVALID', 'n must be a positive integer');
    const pageSize = Math.min(limit, MAX_PAGE);

    const rows = await referrers.findReferrers({
      registry,
      repository,
      subject,
      artifactType,
      after: last,
      limit: pageSize + 1,
    });
    const page = rows.slice(0, pageSize);
    if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
    if (rows.length > pageSize) {
      const params = new URLSearchParams();
      if (artifactType !== undefined) params.set('artifactType', artifactType);
      params.set('n', String(pageSize));
      params.set('last', page[page.length - 1]!.digest);
      reply.header(
        'link',
        `</v2/${registry}/${repository}/referrers/${subject}?${params.toString()}>; rel="next"`,
      );
    }
    // Sent as bytes: Fastify would append a charset to a serialised object's media type.
    const body = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: page }),
    );
    return reply.status(200).header('content-type', MediaType.OciIndex).send(body);
  };

  return (app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void => {
    // OCI clients probe /v2/ before anything else.
    // Every answer under /v2, the auth hook's 401 and 403 included, carries the API version.
    app.addHook('onSend', (_req, reply, payload, next) => {
      void reply.header('docker-distribution-api-version', API_VERSION);
      next(null, payload);
    });
    app.get('/v2/', { config: routeAccess('read') }, (_req, reply) => {
      void reply.status(200).send({});
    });
    // The registry view (manifests, blobs, tags) dispatches its own paths and hands the rest here.
    if (view) view.install(app, handle);
    else app.get('/v2/*', { config: routeAccess('read') }, handle);
    done();
  };
}

function isCursor(v: string): boolean {
  try {
    parseDigest(v);
    return true;
  } catch {
    return false;
  }
}
