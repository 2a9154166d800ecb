import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Reader } from '#answers';
import type { GraphEvent, GraphListener } from '#store';
import { edgeKind } from './map.js';
import type { ReferrerAddedEvent, VerificationChangedEvent } from './models/events.model.js';

export const GRAPH_LISTENER = Symbol('graph-listener');

/** Events a slow subscriber may fall behind by before newer ones are dropped. */
const MAX_QUEUED = 1000;

/**
 * Turns the process's one LISTEN connection into per-subscription async iterators. Each event is
 * checked against the subscriber's scope before it is delivered.
 */
@Injectable()
export class GraphEvents implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(GRAPH_LISTENER) private readonly listener: GraphListener) {}

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener.stop();
  }

  /**
   * Referrers added to the subject in repositories the subscriber may read. The reader is the
   * subscriber's: every event is checked against their scope before it is delivered.
   */
  referrerAdded(subject: string, reader: Reader): AsyncIterableIterator<ReferrerAddedEvent> {
    const paths = new Map<number, { registry: string; repository: string } | null>();
    return this.stream(
      (e) => e.type === 'referrer_added' && e.subject === subject,
      async (e) => {
        if (e.type !== 'referrer_added') return undefined;
        if (!paths.has(e.repositoryId)) {
          paths.set(
            e.repositoryId,
            (await reader.graph.repositoryPaths([e.repositoryId])).get(e.repositoryId) ?? null,
          );
        }
        const path = paths.get(e.repositoryId);
        if (!path) return undefined;
        return {
          subject: e.subject,
          referrerDigest: e.referrer,
          kind: edgeKind(e.kind),
          registry: path.registry,
          repository: path.repository,
        };
      },
    );
  }

  /**
   * Changes of a verification result over the subject, delivered only when the subscriber may
   * read the repository whose rule produced it and sees the signature artifact.
   */
  verificationChanged(subject: string, reader: Reader): AsyncIterableIterator<VerificationChangedEvent> {
    return this.stream(
      (e) => e.type === 'verification_changed' && e.subject === subject,
      async (e) => {
        if (e.type !== 'verification_changed') return undefined;
        if (!Number.isFinite(e.repositoryId)) return undefined;
        const row = { artifact: e.artifact, subject: e.subject, repositoryId: e.repositoryId };
        if (!(await reader.graph.verificationVisible(row))) return undefined;
        return { subject: e.subject, artifactDigest: e.artifact, status: e.status };
      },
    );
  }

  /** Events in order; `return()` (client unsubscribed or socket closed) detaches from the listener. */
  private stream<T>(
    wanted: (e: GraphEvent) => boolean,
    map: (e: GraphEvent) => Promise<T | undefined>,
  ): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let waiting: ((r: IteratorResult<T>) => void) | undefined;
    let done = false;
    let chain = Promise.resolve();
    const unsubscribe = this.listener.subscribe((e) => {
      if (!wanted(e)) return;
      chain = chain.then(async () => {
        const value = await map(e).catch(() => undefined);
        if (value === undefined || done) return;
        if (waiting) {
          const w = waiting;
          waiting = undefined;
          w({ value, done: false });
        } else if (queue.length < MAX_QUEUED) {
          queue.push(value);
        }
      });
    });
    const finish = (): IteratorResult<T> => {
      done = true;
      unsubscribe();
      queue.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
      return { value: undefined, done: true };
    };
    return {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => Promise.resolve(finish()),
      throw: (err: unknown) => {
        finish();
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
