import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  scopeRegex,
  type GraphEvent,
  type GraphListener,
  type GraphQueryRepository,
  type QueryRepository,
  type RepositoryScope,
} from '#store';
import { QUERY } from '../tokens.js';
import { GRAPH_QUERY } from './context.js';
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
  private readonly paths = new Map<number, string>();

  constructor(
    @Inject(GRAPH_LISTENER) private readonly listener: GraphListener,
    @Inject(GRAPH_QUERY) private readonly graph: GraphQueryRepository,
    @Inject(QUERY) private readonly query: QueryRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.listener.stop();
  }

  referrerAdded(subject: string, scope: RepositoryScope): AsyncIterableIterator<ReferrerAddedEvent> {
    const allowed = scope ? new RegExp(scopeRegex(scope)) : undefined;
    return this.stream(
      (e) => e.type === 'referrer_added' && e.subject === subject,
      async (e) => {
        if (e.type !== 'referrer_added') return undefined;
        const path = await this.repositoryPath(e.repositoryId);
        if (!path || (allowed && !allowed.test(path))) return undefined;
        const slash = path.indexOf('/');
        return {
          subject: e.subject,
          referrerDigest: e.referrer,
          kind: edgeKind(e.kind),
          registry: path.slice(0, slash),
          repository: path.slice(slash + 1),
        };
      },
    );
  }

  verificationChanged(
    subject: string,
    scope: RepositoryScope,
  ): AsyncIterableIterator<VerificationChangedEvent> {
    return this.stream(
      (e) => e.type === 'verification_changed' && e.subject === subject,
      async (e) => {
        if (e.type !== 'verification_changed') return undefined;
        // The payload names no repository: the subject must be visible to the caller.
        if (scope && !(await this.query.findLocations([e.subject], scope)).get(e.subject)?.length)
          return undefined;
        return { subject: e.subject, artifactDigest: e.artifact, status: e.status };
      },
    );
  }

  private async repositoryPath(id: number): Promise<string | undefined> {
    if (!this.paths.has(id)) {
      const found = (await this.graph.findRepositoryPaths([id])).get(id);
      if (found) this.paths.set(id, `${found.registry}/${found.repository}`);
    }
    return this.paths.get(id);
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
