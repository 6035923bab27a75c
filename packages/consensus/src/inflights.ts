import { invariant } from "./errors.js";

/**
 * Bounded in-flight MsgApp window to one follower (etcd tracker/inflights.go):
 * full when either the count or the byte budget is used up. Entries are the
 * last index of each sent append, in increasing order.
 */
export class Inflights {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    invariant(maxCount > 0, "Inflights: maxCount must be > 0");
  }

  get count(): number {
    return this.indexes.length - this.head;
  }

  get inflightBytes(): number {
    return this.bytes;
  }

  full(): boolean {
    return this.count >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  add(index: number, bytes: number): void {
    invariant(!this.full(), "Inflights.add on a full window");
    const last = this.indexes[this.indexes.length - 1];
    invariant(this.count === 0 || last === undefined || index > last, () => `Inflights.add: ${index} not above ${last}`);
    this.indexes.push(index);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every in-flight append whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && (this.indexes[this.head] as number) <= index) {
      this.bytes -= this.sizes[this.head] as number;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}
