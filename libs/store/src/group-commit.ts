interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Most items written together. Default 200. */
  maxBatch?: number;
  /** Batches written at the same time. Default 1. */
  lanes?: number;
  /**
   * Resolves when a batch that is not full yet has gathered long enough (it must not reject);
   * without it a batch is written as soon as a lane is free. A writer that does not wait for its
   * result (a sync walking on) trades a little latency for fewer, larger statements and commits.
   */
  gather?: () => Promise<void>;
}

/**
 * Group commit: writes submitted items in batches, so that many concurrent writers share one
 * transaction (and one fsync). While fewer than `lanes` batches are being written, an item is
 * written at once; items submitted meanwhile wait and form the next batch, of at most `maxBatch`
 * items (with `gather`, a batch also waits for more items, up to `maxBatch`, before it is written).
 * `write` gets the batch and returns one result per item, in order; every submitter's
 * promise settles only once the batch holding its item has settled.
 *
 * When a batch fails, each of its items is written again on its own, so only the items that fail
 * alone are rejected (each with its own error); an item failing for a reason shared by all (the
 * database is down) is rejected in every call. An item may so be written twice (a batch can fail
 * after its commit, on a lost connection), so writes must be idempotent.
 */
export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private writing = 0;
  /** Items of the batches being written. */
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly lanes: number;
  private readonly gather?: () => Promise<void>;
  /** Drains gathering a batch, woken early once a full batch waits. */
  private gathering: Array<() => void> = [];

  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 200;
    this.lanes = opts.lanes ?? 1;
    if (opts.gather) this.gather = opts.gather;
    if (!(this.maxBatch >= 1)) throw new RangeError('maxBatch must be at least 1');
    if (!(this.lanes >= 1)) throw new RangeError('lanes must be at least 1');
  }

  /** Items submitted whose batch has not settled yet: waiting, gathering or being written. */
  get backlog(): number {
    return this.queue.length + this.inFlight;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.gathering.splice(0).forEach((wake) => wake());
      if (this.writing < this.lanes) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing++;
    try {
      while (this.queue.length > 0) {
        if (this.gather && this.queue.length < this.maxBatch) {
          let wake!: () => void;
          const full = new Promise<void>((resolve) => (wake = resolve));
          this.gathering.push(wake);
          await Promise.race([this.gather(), full]);
          this.gathering = this.gathering.filter((w) => w !== wake);
        }
        await this.flush(this.queue.splice(0, this.maxBatch));
      }
    } finally {
      this.writing--;
    }
  }

  private async flush(batch: Pending<T, R>[]): Promise<void> {
    this.inFlight += batch.length;
    try {
      await this.settle(batch);
    } finally {
      this.inFlight -= batch.length;
    }
  }

  private async settle(batch: Pending<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.write(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(batch.map((p) => this.writeOne(p.item).then(p.resolve, p.reject)));
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  private async writeOne(item: T): Promise<R> {
    const [result] = await this.write([item]);
    return result!;
  }
}
