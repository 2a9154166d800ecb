import type { ZodType, z } from 'zod';
import { ApiError } from '../http/errors.js';

/** Validates one part of a request, naming the failing field: `query.depth: Too big: ...`. */
export function validate<S extends ZodType>(schema: S, value: unknown, part: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const message = r.error.issues
    .map((i) => `${[part, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
  throw new ApiError(400, 'invalid_request', message);
}
