/**
 * Jute's binary archive (org.apache.jute.BinaryInputArchive /
 * BinaryOutputArchive): big-endian int32 and int64, one-byte booleans,
 * length-prefixed buffers and UTF-8 strings (length -1 = null) and
 * length-prefixed vectors.
 *
 * Both classes use a *sticky error*: the first failure is recorded in `error`,
 * every later call is a no-op that returns a neutral value (0, false, null,
 * []), and nothing ever throws. Callers read a whole record and check `error`
 * once at the end; loops must stop on `!ok`.
 *
 * Every length is checked against the explicit limit for the field AND
 * against the bytes actually remaining before anything is allocated, so a
 * hostile length prefix costs nothing.
 */
import { JuteError, type JuteErrorCode, type JuteLimitName } from "./errors.js";

/** Hard limits of the jute decoders (and of the encoders' packet size). */
export interface JuteLimits {
  /** One packet (the payload after the 4-byte length prefix). */
  readonly maxPacketBytes: number;
  /** One `buffer` field (znode data, auth data, SASL token). */
  readonly maxBufferBytes: number;
  /** One non-path `ustring` (ACL scheme/id, auth scheme, reconfig strings, client info). */
  readonly maxStringBytes: number;
  /** One path or child name, in UTF-16 code units like `validatePath` (its UTF-8 size is checked against 3x this first). */
  readonly maxPathLength: number;
  /** Elements of one vector (ACL, children, watch paths, ephemerals, client infos). */
  readonly maxVectorLength: number;
  /** Sub-ops of one multi / multiRead (requests and results). */
  readonly maxMultiOps: number;
  /** The session password in a connect request/response (ZooKeeper sends 16 bytes). */
  readonly maxPasswordBytes: number;
}

/**
 * Defaults: 1 MiB of znode data plus 64 KiB of header room per packet (like
 * ZooKeeper's jute.maxbuffer plus its extra size); path limit as
 * `defaultPathLimits`; multi as `defaultCodecLimits.maxMultiOps`.
 */
export const defaultJuteLimits: JuteLimits = Object.freeze({
  maxPacketBytes: 1024 * 1024 + 64 * 1024,
  maxBufferBytes: 1024 * 1024,
  maxStringBytes: 64 * 1024,
  maxPathLength: 4096,
  maxVectorLength: 1_000_000,
  maxMultiOps: 1024,
  maxPasswordBytes: 256,
});

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

export function isInt64(value: unknown): value is bigint {
  return typeof value === "bigint" && BigInt.asIntN(64, value) === value;
}

export class JuteReader {
  private readonly view: DataView;
  private position = 0;
  private failure: JuteError | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    readonly limits: JuteLimits = defaultJuteLimits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }
  get remaining(): number {
    return this.bytes.byteLength - this.position;
  }
  get error(): JuteError | undefined {
    return this.failure;
  }
  get ok(): boolean {
    return this.failure === undefined;
  }

  /** Records a failure (the first one wins). */
  fail(code: JuteErrorCode, reason: string, at: string, details: { limit?: JuteLimitName; xid?: number; opCode?: number } = {}): void {
    if (this.failure === undefined) this.failure = new JuteError(code, reason, at, details);
  }

  private need(count: number, at: string): boolean {
    if (this.failure !== undefined) return false;
    if (count > this.remaining) {
      this.fail("Truncated", `needs ${count} bytes, ${this.remaining} left`, at);
      return false;
    }
    return true;
  }

  readInt(at: string): number {
    if (!this.need(4, at)) return 0;
    const value = this.view.getInt32(this.position, false);
    this.position += 4;
    return value;
  }

  readLong(at: string): bigint {
    if (!this.need(8, at)) return 0n;
    const value = this.view.getBigInt64(this.position, false);
    this.position += 8;
    return value;
  }

  readBool(at: string): boolean {
    if (!this.need(1, at)) return false;
    const byte = this.view.getUint8(this.position);
    if (byte > 1) {
      this.fail("InvalidBoolean", `boolean byte ${byte}`, at);
      return false;
    }
    this.position += 1;
    return byte === 1;
  }

  /** A length prefix: -1 = null (returned as -1), else checked against `max` and the remaining bytes. */
  private readLength(at: string, max: number, limit: JuteLimitName): number {
    const length = this.readInt(at);
    if (this.failure !== undefined) return -1;
    if (length === -1) return -1;
    if (length < -1) {
      this.fail("InvalidLength", `length ${length}`, at);
      return -1;
    }
    if (length > max) {
      this.fail("LimitExceeded", `length ${length} exceeds ${limit} (${max})`, at, { limit });
      return -1;
    }
    if (length > this.remaining) {
      this.fail("Truncated", `length ${length} but ${this.remaining} bytes left`, at);
      return -1;
    }
    return length;
  }

  /** `buffer`: bytes (copied) or null for length -1. */
  readBuffer(at: string, max: number = this.limits.maxBufferBytes, limit: JuteLimitName = "maxBufferBytes"): Uint8Array | null {
    const length = this.readLength(at, max, limit);
    if (length < 0) return null;
    const value = this.bytes.slice(this.position, this.position + length);
    this.position += length;
    return value;
  }

  /** `ustring`: a string or null for length -1. Invalid UTF-8 fails. */
  readUstring(at: string, max: number = this.limits.maxStringBytes, limit: JuteLimitName = "maxStringBytes"): string | null {
    const length = this.readLength(at, max, limit);
    if (length < 0) return null;
    const start = this.position;
    this.position += length;
    try {
      return utf8Decoder.decode(this.bytes.subarray(start, start + length));
    } catch {
      this.fail("InvalidUtf8", "not well-formed UTF-8", at);
      return null;
    }
  }

  /** A non-null `ustring`. */
  readString(at: string, max: number = this.limits.maxStringBytes, limit: JuteLimitName = "maxStringBytes"): string {
    const value = this.readUstring(at, max, limit);
    if (value === null) {
      this.fail("NullValue", "null string", at);
      return "";
    }
    return value;
  }

  /** A non-null path or node name: at most `maxPathLength` UTF-16 units (3x that in UTF-8 bytes, checked first). */
  readPath(at: string): string {
    const max = this.limits.maxPathLength;
    const value = this.readString(at, max * 3, "maxPathLength");
    if (this.failure === undefined && value.length > max) {
      this.fail("LimitExceeded", `path of ${value.length} characters exceeds maxPathLength (${max})`, at, { limit: "maxPathLength" });
      return "";
    }
    return value;
  }

  /**
   * `vector<T>`: length -1 (null) reads as []. `minElementBytes` (> 0) is the
   * smallest encoding of one element: the claimed length is checked against
   * the limit and against remaining / minElementBytes before the loop, so the
   * result array never outgrows the input.
   */
  readVector<T>(
    at: string,
    minElementBytes: number,
    readElement: (reader: JuteReader, at: string) => T,
    max: number = this.limits.maxVectorLength,
    limit: JuteLimitName = "maxVectorLength",
  ): T[] {
    const length = this.readInt(at);
    if (this.failure !== undefined || length === -1) return [];
    if (length < -1) {
      this.fail("InvalidLength", `vector length ${length}`, at);
      return [];
    }
    if (length > max) {
      this.fail("LimitExceeded", `vector length ${length} exceeds ${limit} (${max})`, at, { limit });
      return [];
    }
    if (length * minElementBytes > this.remaining) {
      this.fail("Truncated", `vector of ${length} needs at least ${length * minElementBytes} bytes, ${this.remaining} left`, at);
      return [];
    }
    const out: T[] = [];
    for (let index = 0; index < length && this.failure === undefined; index++) {
      out.push(readElement(this, `${at}[${index}]`));
    }
    return this.failure === undefined ? out : [];
  }

  /** Fails with TrailingBytes unless every byte was consumed. */
  expectEnd(at: string): void {
    if (this.failure === undefined && this.remaining !== 0) this.fail("TrailingBytes", `${this.remaining} bytes left after the record`, at);
  }

  /** The value, or the recorded error. */
  result<T>(value: T): T | JuteError {
    return this.failure ?? value;
  }
}

export class JuteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;
  private failure: JuteError | undefined;

  /** `maxBytes` bounds the output (the encoders pass `maxPacketBytes`); growing past it fails. */
  constructor(
    private readonly maxBytes: number = defaultJuteLimits.maxPacketBytes,
    initialCapacity = 256,
  ) {
    this.buffer = new Uint8Array(Math.max(16, Math.min(initialCapacity, maxBytes)));
    this.view = new DataView(this.buffer.buffer);
  }

  get error(): JuteError | undefined {
    return this.failure;
  }
  get ok(): boolean {
    return this.failure === undefined;
  }
  get size(): number {
    return this.length;
  }

  fail(code: JuteErrorCode, reason: string, at: string, details: { limit?: JuteLimitName } = {}): void {
    if (this.failure === undefined) this.failure = new JuteError(code, reason, at, details);
  }

  private reserve(count: number, at: string): boolean {
    if (this.failure !== undefined) return false;
    const needed = this.length + count;
    if (needed > this.maxBytes) {
      this.fail("LimitExceeded", `packet would exceed maxPacketBytes (${this.maxBytes})`, at, { limit: "maxPacketBytes" });
      return false;
    }
    if (needed > this.buffer.byteLength) {
      let capacity = this.buffer.byteLength * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.maxBytes));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    return true;
  }

  writeInt(value: number, at: string): void {
    if (!isInt32(value)) {
      this.fail("InvalidValue", `${String(value)} is not an int32`, at);
      return;
    }
    if (!this.reserve(4, at)) return;
    this.view.setInt32(this.length, value, false);
    this.length += 4;
  }

  writeLong(value: bigint, at: string): void {
    if (!isInt64(value)) {
      this.fail("InvalidValue", `${String(value)} is not an int64 bigint`, at);
      return;
    }
    if (!this.reserve(8, at)) return;
    this.view.setBigInt64(this.length, value, false);
    this.length += 8;
  }

  writeBool(value: boolean, at: string): void {
    if (typeof value !== "boolean") {
      this.fail("InvalidValue", "not a boolean", at);
      return;
    }
    if (!this.reserve(1, at)) return;
    this.buffer[this.length] = value ? 1 : 0;
    this.length += 1;
  }

  private writeBytes(bytes: Uint8Array, at: string): void {
    if (!this.reserve(4 + bytes.byteLength, at)) return;
    this.view.setInt32(this.length, bytes.byteLength, false);
    this.buffer.set(bytes, this.length + 4);
    this.length += 4 + bytes.byteLength;
  }

  writeBuffer(value: Uint8Array | null, at: string): void {
    if (value === null) this.writeInt(-1, at);
    else if (value instanceof Uint8Array) this.writeBytes(value, at);
    else this.fail("InvalidValue", "not a Uint8Array", at);
  }

  writeUstring(value: string | null, at: string): void {
    if (value === null) this.writeInt(-1, at);
    else if (typeof value === "string") {
      if (this.failure !== undefined) return;
      // A UTF-16 unit is at most 3 UTF-8 bytes: refuse before encoding anything huge.
      if (this.length + 4 + value.length > this.maxBytes) {
        this.fail("LimitExceeded", `packet would exceed maxPacketBytes (${this.maxBytes})`, at, { limit: "maxPacketBytes" });
        return;
      }
      this.writeBytes(utf8Encoder.encode(value), at);
    } else this.fail("InvalidValue", "not a string", at);
  }

  writeVector<T>(items: readonly T[] | null, at: string, writeElement: (writer: JuteWriter, item: T, at: string) => void): void {
    if (items === null) {
      this.writeInt(-1, at);
      return;
    }
    if (!Array.isArray(items)) {
      this.fail("InvalidValue", "not an array", at);
      return;
    }
    this.writeInt(items.length, at);
    for (let index = 0; index < items.length && this.failure === undefined; index++) {
      writeElement(this, items[index] as T, `${at}[${index}]`);
    }
  }

  /** The bytes written, or the recorded error. */
  finish(): Uint8Array | JuteError {
    if (this.failure !== undefined) return this.failure;
    return this.buffer.slice(0, this.length);
  }
}
