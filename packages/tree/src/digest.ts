/**
 * A 64-bit order-independent digest (like ZooKeeper's DigestCalculator): the
 * sum mod 2^64 of one hash per item, so adding, removing or changing an item
 * updates it in O(item) instead of re-hashing the tree. Kept as two uint32
 * lanes because the hot path must not allocate BigInts.
 *
 * The per-item hash is two independent 32-bit murmur3-style lanes.
 */

let lane1 = 0;
let lane2 = 0;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashStart(tag: number): void {
  lane1 = mix(0x9747b28c, tag);
  lane2 = mix(0x5bd1e995, tag ^ 0x7f4a7c15);
}

export function hashInt(value: number): void {
  // Safe integers: split into two 32-bit words.
  const high = Math.floor(value / 4294967296);
  const low = value - high * 4294967296;
  lane1 = mix(mix(lane1, low | 0), high | 0);
  lane2 = mix(mix(lane2, high | 0), low | 0);
}

export function hashString(value: string): void {
  const length = value.length;
  lane1 = mix(lane1, length);
  lane2 = mix(lane2, ~length);
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    lane1 = mix(lane1, c);
    lane2 = mix(lane2, c ^ 0x5555);
  }
}

export function hashBytes(value: Uint8Array): void {
  const length = value.length;
  lane1 = mix(lane1, length);
  lane2 = mix(lane2, ~length);
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const word = value[i]! | (value[i + 1]! << 8) | (value[i + 2]! << 16) | (value[i + 3]! << 24);
    lane1 = mix(lane1, word);
    lane2 = mix(lane2, word ^ 0x5555aaaa);
  }
  for (; i < length; i++) {
    lane1 = mix(lane1, value[i]!);
    lane2 = mix(lane2, value[i]! ^ 0xaa);
  }
}

/** A 64-bit running sum of item hashes. */
export class Digest {
  high = 0;
  low = 0;

  /** Adds (sign 1) or subtracts (sign -1) the hash just computed with hashStart/hash*. */
  accumulate(sign: 1 | -1): void {
    let high = finish(lane1 ^ 0x27d4eb2f);
    let low = finish(lane2);
    if (sign === -1) {
      // Two's complement of the 64-bit value (high, low).
      low = (~low + 1) >>> 0;
      high = (~high + (low === 0 ? 1 : 0)) >>> 0;
    }
    const sumLow = this.low + low;
    this.low = sumLow >>> 0;
    this.high = (this.high + high + (sumLow > 0xffffffff ? 1 : 0)) >>> 0;
  }

  toString(): string {
    return this.high.toString(16).padStart(8, "0") + this.low.toString(16).padStart(8, "0");
  }
}

/** A 64-bit checksum of a byte range, 16 hex digits (integrity, not security). */
export function checksum(value: Uint8Array): string {
  hashStart(0x636b);
  hashBytes(value);
  return finish(lane1).toString(16).padStart(8, "0") + finish(lane2 ^ 0x1b873593).toString(16).padStart(8, "0");
}
