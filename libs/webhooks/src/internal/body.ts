import type { z } from 'zod';
import { WebhookError, type WebhookRequest } from '../types.js';

/**
 * One header value, or undefined when absent or repeated: a header given twice is ambiguous, and
 * for credentials ambiguity must never resolve in the caller's favour.
 */
export function header(req: WebhookRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return value;
}

/** Quotes untrusted text for an error message, bounded so a hostile sender cannot flood logs. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** The media type of the request without parameters (charset and the like are allowed). */
export function requireMediaType(req: WebhookRequest, accepted: readonly string[]): string {
  const raw = header(req, 'content-type');
  const expected = `expected ${accepted.join(' or ')}`;
  if (raw === undefined || raw.trim() === '') {
    throw new WebhookError('unsupported_media_type', `missing Content-Type; ${expected}`);
  }
  const essence = (raw.split(';')[0] ?? '').trim().toLowerCase();
  if (!accepted.includes(essence)) {
    throw new WebhookError(
      'unsupported_media_type',
      `Content-Type ${quote(essence)} is not accepted; ${expected}`,
    );
  }
  return essence;
}

export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

function bodyText(req: WebhookRequest): string {
  let text: string;
  try {
    // fatal: a body that is not UTF-8 is refused rather than parsed with replacement characters.
    text = new TextDecoder('utf-8', { fatal: true }).decode(req.rawBody);
  } catch {
    throw new WebhookError('bad_request', 'body is not valid UTF-8');
  }
  if (text.trim() === '') throw new WebhookError('bad_request', 'body is empty');
  return text;
}

export function parseJsonText(text: string, what = 'body'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WebhookError('bad_request', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The JSON document of the request. GitHub-style senders may post `payload=<json>` as a form
 * instead; the signature still covers the raw form bytes, which is why auth never reads this.
 */
export function readJson(req: WebhookRequest, mediaType: string): unknown {
  const text = bodyText(req);
  if (mediaType !== FORM_MEDIA_TYPE) return parseJsonText(text);
  const payload = new URLSearchParams(text).get('payload');
  if (payload === null) throw new WebhookError('bad_request', 'form body has no "payload" field');
  return parseJsonText(payload, 'form field "payload"');
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Validates with zod; the error names each offending field by its path in the payload. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, at = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 3).map((issue) => {
    const path = formatPath([...(at ? [at] : []), ...issue.path]);
    return `${path || 'body'}: ${issue.message}`;
  });
  throw new WebhookError('bad_request', problems.join('; '));
}
