import type { ZodType, z } from 'zod';
import { ApiError } from '../http/errors.js';

/** Validates one part of a request, naming the failing field: `query.depth: Too big: ...`. */
export function validate<S extends ZodType>(schema: S, value: unknown, part: string): z.output<S> {
  if (part === 'query') refuseRepeated(value);
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const message = r.error.issues
    .map((i) => `${[part, ...i.path.map(String)].join('.')}: ${i.message}`)
    .join('; ');
  throw new ApiError(400, 'invalid_request', message);
}

/**
 * The query string parser turns a parameter given more than once (`?depth=1&depth=2`) into a
 * list, and no query parameter takes one: which value was meant is the caller's to say, and a
 * schema would only report the list as a wrong type (or coerce it to NaN).
 */
function refuseRepeated(query: unknown): void {
  if (!query || typeof query !== 'object') return;
  const repeated = Object.entries(query).filter(([, v]) => Array.isArray(v));
  if (repeated.length === 0) return;
  throw new ApiError(
    400,
    'invalid_request',
    repeated.map(([name]) => `query.${name}: given more than once; pass it once`).join('; '),
  );
}
