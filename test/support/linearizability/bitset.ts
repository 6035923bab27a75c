// The set of linearized operations, as a Uint32Array bitset that also keeps
// what the state cache needs cheaply:
// - an order-independent hash updated in O(1) per set/clear (XOR of a mix of
//   the bit index, so clearing undoes setting);
// - `low`, the first word that is not all ones, and `high`, the last non-zero
//   word. Operations are numbered in call order and the search linearizes them
//   roughly in that order, so a cached snapshot only stores words[low..high]:
//   a few words even when the history has 100k operations.

const FULL_WORD = 0xffffffff;

/** 32-bit integer mix (murmur3 finalizer): spreads bit indexes over the hash space. */
export function mixIndex(index: number): number {
  let h = (index + 0x9e3779b9) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** An immutable copy of the set: all bits below low*32 set, then `words` from word `low`. */
export interface BitsetSnapshot {
  readonly low: number;
  readonly words: Uint32Array;
}

export class LinearizedSet {
  private readonly words: Uint32Array;
  private lowWord = 0;
  private highWord = -1;
  private hashValue = 0;
  private countValue = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  get count(): number {
    return this.countValue;
  }

  get hash(): number {
    return this.hashValue;
  }

  has(index: number): boolean {
    return ((this.words[index >>> 5] ?? 0) & (1 << (index & 31))) !== 0;
  }

  set(index: number): void {
    const word = index >>> 5;
    const bit = 1 << (index & 31);
    const old = this.words[word] ?? 0;
    if ((old & bit) !== 0) throw new Error(`LinearizedSet invariant: ${index} already set`);
    const updated = (old | bit) >>> 0;
    this.words[word] = updated;
    this.hashValue = (this.hashValue ^ mixIndex(index)) >>> 0;
    this.countValue++;
    if (word > this.highWord) this.highWord = word;
    if (word === this.lowWord && updated === FULL_WORD) {
      while (this.lowWord < this.words.length && this.words[this.lowWord] === FULL_WORD) this.lowWord++;
    }
  }

  clear(index: number): void {
    const word = index >>> 5;
    const bit = 1 << (index & 31);
    const old = this.words[word] ?? 0;
    if ((old & bit) === 0) throw new Error(`LinearizedSet invariant: ${index} not set`);
    const updated = (old & ~bit) >>> 0;
    this.words[word] = updated;
    this.hashValue = (this.hashValue ^ mixIndex(index)) >>> 0;
    this.countValue--;
    if (word < this.lowWord) this.lowWord = word;
    if (word === this.highWord && updated === 0) {
      while (this.highWord >= 0 && this.words[this.highWord] === 0) this.highWord--;
    }
  }

  /** Snapshot of the set with `extra` also set (not modifying this set). */
  snapshotWith(extra: number): BitsetSnapshot {
    this.set(extra);
    const snapshot = this.snapshot();
    this.clear(extra);
    return snapshot;
  }

  snapshot(): BitsetSnapshot {
    const low = this.lowWord;
    const words = this.highWord >= low ? this.words.slice(low, this.highWord + 1) : new Uint32Array(0);
    return { low, words };
  }

  /** Whether this set, with `extra` also set, equals the snapshot. */
  equalsWith(snapshot: BitsetSnapshot, extra: number): boolean {
    this.set(extra);
    const equal = this.equals(snapshot);
    this.clear(extra);
    return equal;
  }

  equals(snapshot: BitsetSnapshot): boolean {
    if (snapshot.low !== this.lowWord) return false;
    const length = this.highWord >= this.lowWord ? this.highWord - this.lowWord + 1 : 0;
    if (snapshot.words.length !== length) return false;
    for (let i = 0; i < length; i++) {
      if (snapshot.words[i] !== this.words[this.lowWord + i]) return false;
    }
    return true;
  }
}
