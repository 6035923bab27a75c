import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FOUR_LETTER_WORDS,
  JuteError,
  TELNET_CLOSE_COMMAND,
  ZkPacketFramer,
  defaultJuteLimits,
  detectFourLetterWord,
  frameZkPacket,
  type ZkFramerOutput,
} from "../src/index.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
function ok(value: ZkFramerOutput | JuteError): ZkFramerOutput {
  if (value instanceof JuteError) throw value;
  return value;
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
/** Splits bytes at the given (sorted, deduplicated) cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe("ZkPacketFramer", () => {
  it("yields the same packets however the stream is chunked", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (packets, cuts) => {
        const stream = concat(packets.map(frameZkPacket));
        const framer = new ZkPacketFramer();
        const out: Uint8Array[] = [];
        for (const chunk of split(stream, cuts)) out.push(...ok(framer.push(chunk)).packets);
        expect(out).toEqual(packets);
        expect(framer.bufferedBytes).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it("byte-at-a-time delivery", () => {
    const packets = [ascii("hello"), new Uint8Array(0), ascii("x".repeat(300))];
    const stream = concat(packets.map(frameZkPacket));
    const framer = new ZkPacketFramer();
    const out: Uint8Array[] = [];
    for (let i = 0; i < stream.byteLength; i++) out.push(...ok(framer.push(stream.subarray(i, i + 1))).packets);
    expect(out).toEqual(packets);
  });

  it("checks the length prefix before buffering: oversized and negative lengths fail, and stay failed", () => {
    const framer = new ZkPacketFramer({ maxPacketBytes: 100 });
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setInt32(0, 101);
    const error = framer.push(prefix);
    expect(error).toBeInstanceOf(JuteError);
    expect((error as JuteError).code).toBe("LimitExceeded");
    expect((error as JuteError).limit).toBe("maxPacketBytes");
    expect(framer.bufferedBytes).toBe(0);
    expect(framer.push(new Uint8Array(10))).toBe(error);
    expect(framer.error).toBe(error);

    const negative = new ZkPacketFramer();
    new DataView(prefix.buffer).setInt32(0, -1);
    expect((negative.push(prefix) as JuteError).code).toBe("InvalidLength");

    // The default limit: exactly maxPacketBytes is accepted, one more is not.
    const exact = new ZkPacketFramer();
    new DataView(prefix.buffer).setInt32(0, defaultJuteLimits.maxPacketBytes);
    expect(ok(exact.push(prefix)).packets).toEqual([]);
    const over = new ZkPacketFramer();
    new DataView(prefix.buffer).setInt32(0, defaultJuteLimits.maxPacketBytes + 1);
    expect(over.push(prefix)).toBeInstanceOf(JuteError);
  });

  it("holds at most the prefix plus one packet between calls", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (packets, cuts) => {
        const framer = new ZkPacketFramer({ maxPacketBytes: 50 });
        for (const chunk of split(concat(packets.map(frameZkPacket)), cuts)) {
          ok(framer.push(chunk));
          expect(framer.bufferedBytes).toBeLessThanOrEqual(4 + 50);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("detects a four-letter word on a new connection only", () => {
    const framer = new ZkPacketFramer({ fourLetterWords: true });
    expect(ok(framer.push(ascii("ru")))).toEqual({ packets: [] });
    expect(ok(framer.push(ascii("ok")))).toEqual({ packets: [], fourLetterWord: { kind: "fourLetterWord", word: "ruok" } });
    expect(ok(framer.push(ascii("more")))).toEqual({ packets: [] });

    // "stmk" waits for its 8-byte trace mask.
    const stmk = new ZkPacketFramer({ fourLetterWords: true });
    expect(ok(stmk.push(ascii("stmk\0\0\0")))).toEqual({ packets: [] });
    expect(ok(stmk.push(new Uint8Array([0, 0, 0, 1, 2])))).toEqual({
      packets: [],
      fourLetterWord: { kind: "fourLetterWord", word: "stmk", traceMask: 0x102n },
    });

    // After a real first packet, "ruok"-looking bytes are just a (too large) length.
    const later = new ZkPacketFramer({ fourLetterWords: true });
    expect(ok(later.push(frameZkPacket(ascii("connect")))).packets).toEqual([ascii("connect")]);
    expect(later.push(ascii("ruok"))).toBeInstanceOf(JuteError);

    // Without the option a four-letter word is an oversized length.
    expect(new ZkPacketFramer().push(ascii("ruok"))).toBeInstanceOf(JuteError);
  });
});

describe("detectFourLetterWord", () => {
  it("every ZooKeeper 3.9 command", () => {
    expect(FOUR_LETTER_WORDS).toEqual(["conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs"]);
    for (const word of FOUR_LETTER_WORDS) {
      if (word === "stmk") continue;
      expect(detectFourLetterWord(ascii(word))).toEqual({ kind: "fourLetterWord", word });
      expect(detectFourLetterWord(ascii(`${word}\n`))).toEqual({ kind: "fourLetterWord", word });
    }
  });

  it("packets, short input, telnet close", () => {
    expect(detectFourLetterWord(new Uint8Array([0, 0, 0, 0x2d]))).toEqual({ kind: "packet" });
    expect(detectFourLetterWord(ascii("RUOK"))).toEqual({ kind: "packet" });
    expect(detectFourLetterWord(ascii("ruo"))).toEqual({ kind: "needMore" });
    expect(detectFourLetterWord(ascii("stmk1234"))).toEqual({ kind: "needMore" });
    expect(detectFourLetterWord(new Uint8Array([0xff, 0xf4, 0xff, 0xfd]))).toEqual({ kind: "telnetClose" });
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, TELNET_CLOSE_COMMAND);
    expect(detectFourLetterWord(bytes)).toEqual({ kind: "telnetClose" });
  });

  it("every command as an int32 is above any packet limit", () => {
    for (const word of FOUR_LETTER_WORDS) {
      expect(new DataView(ascii(word).buffer).getInt32(0)).toBeGreaterThan(defaultJuteLimits.maxPacketBytes);
    }
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        expect(["needMore", "fourLetterWord", "telnetClose", "packet"]).toContain(detectFourLetterWord(bytes).kind);
      }),
      { numRuns: 2000 },
    );
  });
});
