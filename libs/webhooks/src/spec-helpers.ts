import { createHmac } from 'node:crypto';
import { WebhookError, type RejectedEvent, type WebhookRequest, type WebhookResult } from './types.js';

/** A request as the controller hands it over: lower-case header names, exact body bytes. */
export function request(body: unknown, headers: Record<string, string> = {}): WebhookRequest {
  const rawBody = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { headers: { 'content-type': 'application/json', ...lower }, rawBody };
}

export const json = (body: unknown, headers: Record<string, string> = {}): WebhookRequest =>
  request(body, headers);

export function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The WebhookError thrown by fn; fails the test when fn returns or throws something else. */
export function errorOf(fn: () => unknown): WebhookError {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    if (err instanceof WebhookError) return err;
    throw err;
  }
  throw new Error(`expected a WebhookError, got ${JSON.stringify(result)}`);
}

/** The rejections of a result as reason and message, for comparing. */
export function rejections(result: WebhookResult): Array<Pick<RejectedEvent, 'reason' | 'message'>> {
  return (result.rejected ?? []).map(({ reason, message }) => ({ reason, message }));
}

/** The one rejected event of a result that admitted nothing; fails the test otherwise. */
export function rejectionOf(result: WebhookResult): RejectedEvent {
  const rejected = result.rejected ?? [];
  if (result.events.length !== 0 || rejected.length !== 1)
    throw new Error(`expected one rejected event and nothing else, got ${JSON.stringify(result)}`);
  return rejected[0]!;
}

export const D1 = `sha256:${'a'.repeat(64)}`;
export const D2 = `sha256:${'b'.repeat(64)}`;
export const D512 = `sha512:${'c'.repeat(128)}`;
