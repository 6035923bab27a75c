/**
 * A log-linear latency histogram in the spirit of HdrHistogram: exact below
 * 128 µs, then 64 sub-buckets per power of two (relative error under 1.6 %),
 * fixed memory (about 1.7k counters) however many samples are recorded. Max and
 * mean are exact.
 */

const exactBelowMicroseconds = 128;
const subBucketsPerOctave = 64;
const subBucketBits = 6;
/** Values are clamped here (about 35 minutes): no benchmark operation is longer. */
const maxTrackableMicroseconds = 2 ** 31 - 1;
const bucketCount = exactBelowMicroseconds + (31 - subBucketBits - 1) * subBucketsPerOctave;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(bucketCount);
  private total = 0;
  private sumMicroseconds = 0;
  private maxMicroseconds = 0;

  recordNanoseconds(nanoseconds: bigint): void {
    this.recordMicroseconds(Number(nanoseconds / 1000n));
  }

  recordMicroseconds(microseconds: number): void {
    const value = Math.min(maxTrackableMicroseconds, Math.max(0, Math.round(microseconds)));
    const index = bucketIndex(value);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total += 1;
    this.sumMicroseconds += value;
    if (value > this.maxMicroseconds) this.maxMicroseconds = value;
  }

  get count(): number {
    return this.total;
  }

  merge(other: LatencyHistogram): void {
    for (let index = 0; index < bucketCount; index += 1) {
      this.counts[index] = (this.counts[index] ?? 0) + (other.counts[index] ?? 0);
    }
    this.total += other.total;
    this.sumMicroseconds += other.sumMicroseconds;
    this.maxMicroseconds = Math.max(this.maxMicroseconds, other.maxMicroseconds);
  }

  /** The value at `quantile` (0..1], in microseconds; 0 when empty. */
  quantileMicroseconds(quantile: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(quantile * this.total));
    let seen = 0;
    for (let index = 0; index < bucketCount; index += 1) {
      seen += this.counts[index] ?? 0;
      if (seen >= rank) return Math.min(bucketMidpoint(index), this.maxMicroseconds);
    }
    return this.maxMicroseconds;
  }

  summary(): LatencySummary {
    const toMs = (microseconds: number): number => Math.round(microseconds) / 1000;
    return {
      count: this.total,
      meanMs: this.total === 0 ? 0 : toMs(this.sumMicroseconds / this.total),
      p50Ms: toMs(this.quantileMicroseconds(0.5)),
      p95Ms: toMs(this.quantileMicroseconds(0.95)),
      p99Ms: toMs(this.quantileMicroseconds(0.99)),
      maxMs: toMs(this.maxMicroseconds),
    };
  }
}

function bucketIndex(value: number): number {
  if (value < exactBelowMicroseconds) return value;
  const mostSignificantBit = 31 - Math.clz32(value);
  const shift = mostSignificantBit - subBucketBits;
  const subBucket = (value >>> shift) - subBucketsPerOctave;
  return exactBelowMicroseconds + (shift - 1) * subBucketsPerOctave + subBucket;
}

function bucketMidpoint(index: number): number {
  if (index < exactBelowMicroseconds) return index;
  const offset = index - exactBelowMicroseconds;
  const shift = Math.floor(offset / subBucketsPerOctave) + 1;
  const subBucket = (offset % subBucketsPerOctave) + subBucketsPerOctave;
  const low = subBucket * 2 ** shift;
  return low + 2 ** shift / 2;
}
