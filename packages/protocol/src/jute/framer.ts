/**
 * Incremental, pure length-prefixed framing of ZooKeeper's client port: a
 * packet is a big-endian int32 length followed by that many bytes. Feed it
 * socket chunks; it returns the complete packets (copied, so they do not pin
 * the socket's buffers).
 *
 * The length prefix is checked against `maxPacketBytes` as soon as its 4
 * bytes are in, before anything of the packet is buffered; a negative or
 * oversized length is a JuteError after which the framer stays failed: the
 * caller closes the connection (ZooKeeper does the same). The packet buffer
 * is allocated once, at its validated length; between calls the framer holds
 * at most 12 + maxPacketBytes bytes.
 *
 * With `fourLetterWords: true` (server side, new connections) the first 4
 * bytes may instead be a four-letter word; it is reported once and the framer
 * ignores any further input.
 */
import { defaultJuteLimits } from "./archive.js";
import { JuteError } from "./errors.js";
import { detectFourLetterWord, type FourLetterDetection } from "./four-letter.js";

export interface ZkFramerOptions {
  /** Largest accepted packet payload. Default `defaultJuteLimits.maxPacketBytes`. */
  readonly maxPacketBytes?: number;
  /** Detect a four-letter word in place of the first packet. Default false. */
  readonly fourLetterWords?: boolean;
}

export interface ZkFramerOutput {
  readonly packets: Uint8Array[];
  /** Set once, when the connection opened with a four-letter word (or telnet close). */
  readonly fourLetterWord?: Exclude<FourLetterDetection, { kind: "needMore" } | { kind: "packet" }>;
}

export class ZkPacketFramer {
  readonly maxPacketBytes: number;
  private readonly detectWords: boolean;
  /** The length prefix being assembled (12 bytes: room for "stmk" + its argument). */
  private readonly header = new Uint8Array(12);
  private headerFill = 0;
  /** The packet being assembled, allocated once its (validated) length is known. */
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private sawFirstPacket = false;
  private stopped = false;
  private failure: JuteError | undefined;

  constructor(options: ZkFramerOptions = {}) {
    this.maxPacketBytes = options.maxPacketBytes ?? defaultJuteLimits.maxPacketBytes;
    this.detectWords = options.fourLetterWords ?? false;
  }

  /** Bytes received but not yet returned as a packet (at most 12 + maxPacketBytes). */
  get bufferedBytes(): number {
    return this.headerFill + this.bodyFill;
  }
  get error(): JuteError | undefined {
    return this.failure;
  }

  push(chunk: Uint8Array): ZkFramerOutput | JuteError {
    if (this.failure !== undefined) return this.failure;
    const packets: Uint8Array[] = [];
    if (this.stopped) return { packets };
    let offset = 0;
    for (;;) {
      if (this.body === null) {
        const want = this.headerWant();
        if (this.headerFill < want) {
          const count = Math.min(want - this.headerFill, chunk.byteLength - offset);
          this.header.set(chunk.subarray(offset, offset + count), this.headerFill);
          this.headerFill += count;
          offset += count;
          if (this.headerFill < want) break;
        }
        if (this.detectWords && !this.sawFirstPacket) {
          const detection = detectFourLetterWord(this.header.subarray(0, this.headerFill));
          if (detection.kind === "needMore") continue;
          if (detection.kind !== "packet") {
            this.stopped = true;
            this.headerFill = 0;
            return { packets, fourLetterWord: detection };
          }
        }
        const length = new DataView(this.header.buffer, 0, 4).getInt32(0, false);
        if (length < 0) return this.fail(new JuteError("InvalidLength", `packet length ${length}`, "frame.length"));
        if (length > this.maxPacketBytes) {
          return this.fail(
            new JuteError("LimitExceeded", `packet length ${length} exceeds maxPacketBytes (${this.maxPacketBytes})`, "frame.length", {
              limit: "maxPacketBytes",
            }),
          );
        }
        this.headerFill = 0;
        this.body = new Uint8Array(length);
        this.bodyFill = 0;
      }
      const count = Math.min(this.body.byteLength - this.bodyFill, chunk.byteLength - offset);
      this.body.set(chunk.subarray(offset, offset + count), this.bodyFill);
      this.bodyFill += count;
      offset += count;
      if (this.bodyFill < this.body.byteLength) break;
      packets.push(this.body);
      this.body = null;
      this.bodyFill = 0;
      this.sawFirstPacket = true;
    }
    return { packets };
  }

  /** 4 bytes of length prefix; 12 for a first packet that starts with "stmk" when detecting words. */
  private headerWant(): number {
    if (this.detectWords && !this.sawFirstPacket && this.headerFill >= 4) {
      const h = this.header;
      if (h[0] === 0x73 && h[1] === 0x74 && h[2] === 0x6d && h[3] === 0x6b) return 12;
    }
    return 4;
  }

  private fail(error: JuteError): JuteError {
    this.failure = error;
    this.headerFill = 0;
    this.body = null;
    this.bodyFill = 0;
    return error;
  }
}
