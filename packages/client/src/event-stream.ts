/**
 * A bounded push-to-pull queue behind `watchStream()` and `states()`: the
 * producer pushes, a `for await` loop pulls. A consumer that falls more than
 * `maxBuffered` items behind fails the stream with LimitExceededError rather
 * than letting memory grow without bound.
 */
import { LimitExceededError } from "@corral/protocol";
import type { EventStream } from "./api.js";

export class BoundedEventStream<T> implements EventStream<T> {
  private readonly buffer: T[] = [];
  private readonly waiters: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void }[] = [];
  private ended = false;
  private failure: unknown = undefined;

  constructor(
    private readonly maxBuffered: number,
    private readonly onClose: () => void,
    private readonly what: string,
  ) {}

  /** Offer an item; returns false if the stream is closed. */
  push(item: T): boolean {
    if (this.ended) return false;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value: item, done: false });
      return true;
    }
    if (this.buffer.length >= this.maxBuffered) {
      this.fail(new LimitExceededError(this.what, { cause: `consumer fell more than ${this.maxBuffered} items behind` }));
      return false;
    }
    this.buffer.push(item);
    return true;
  }

  /** End the stream after the buffered items; with `error`, iteration then throws it. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) {
      if (error === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(error);
    }
    this.onClose();
  }

  close(): void {
    this.end();
  }

  private fail(error: unknown): void {
    this.buffer.length = 0;
    this.end(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.buffer.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) {
          if (this.failure !== undefined) {
            const failure = this.failure;
            this.failure = undefined;
            return Promise.reject(failure);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: () => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
