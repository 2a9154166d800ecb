import { createHash } from 'node:crypto';
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';

/**
 * Reads carry a strong ETag of their JSON body and a short Cache-Control; a matching
 * If-None-Match gets 304 with no body. Answers change when the graph does, so caches revalidate.
 */
@Injectable()
export class ETagInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    if (req.method !== 'GET') return next.handle();
    return next.handle().pipe(
      map((body: unknown) => {
        if (body === undefined || reply.sent) return body;
        const json = JSON.stringify(body);
        const etag = `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
        void reply.header('etag', etag).header('cache-control', 'private, max-age=5');
        const match = req.headers['if-none-match'];
        if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
          void reply.status(304);
          return '';
        }
        // The body is serialised once: the JSON that was hashed is what is sent.
        void reply.header('content-type', 'application/json; charset=utf-8');
        return json;
      }),
    );
  }
}
