import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';
import type { LogSink } from '#ingest';

/** JSON lines on stdout. Messages never carry secrets: config values are logged by name only. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'refgraph' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Nest's start-up chatter (one line per module and route): debug, so start-up stays a few lines. */
const NEST_BOOT_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'GraphQLModule',
]);

export class JsonLogger implements LoggerService, LogSink {
  constructor(private readonly logger: Logger) {}

  log(levelOrMessage: unknown, message?: unknown, meta?: unknown): void {
    // Nest calls log(message, context); the queue calls log(level, message, meta).
    if (
      levelOrMessage === 'error' ||
      levelOrMessage === 'warn' ||
      levelOrMessage === 'info' ||
      levelOrMessage === 'debug'
    ) {
      this.logger[levelOrMessage]((meta as object) ?? {}, String(message));
      return;
    }
    const level = typeof message === 'string' && NEST_BOOT_CONTEXTS.has(message) ? 'debug' : 'info';
    this.logger[level]({ context: message }, String(levelOrMessage));
  }
  error(message: unknown, trace?: unknown, context?: unknown): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: unknown): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: unknown): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: unknown): void {
    this.logger.trace({ context }, String(message));
  }
}
