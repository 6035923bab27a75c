import { invariant } from "./errors.js";

/**
 * A FIFO queue with a fixed capacity. `push` refuses (returns false) instead
 * of growing past the bound, so every caller must decide what overflow means.
 * Amortised O(1): a head index plus occasional compaction, no per-item nodes.
 */
export class BoundedQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    invariant(Number.isInteger(capacity) && capacity > 0, `BoundedQueue capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  isFull(): boolean {
    return this.length >= this.capacity;
  }

  push(item: T): boolean {
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
