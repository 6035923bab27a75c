import fc from "fast-check";
import { Schema } from "effect";
import { describe, expect, it } from "vitest";
import {
  ActorSystem,
  DecodeFailure,
  SimScheduler,
  channelFrameCodec,
  decodeBase64,
  decodeFaultCommand,
  decodeFrame,
  encodeActorFrame,
  encodeBase64,
  encodeChannelWireFrame,
  isDecodeFailure,
  isFrameError,
  nullLogger,
  readArray,
  readBytes,
  readInt,
  readLiteral,
  readObject,
  readString,
  schemaCodec,
} from "@corral/actors";
import type { ChannelFrame, Codec } from "@corral/actors";

const encoder = new TextEncoder();
const numberCodec: Codec<number> = { encode: (n) => n, decode: (u) => (typeof u === "number" && Number.isSafeInteger(u) ? u : new DecodeFailure("expected an integer")) };
const frames = channelFrameCodec(numberCodec);

/** Arbitrary JSON-ish values plus near-miss envelopes, as bytes. */
const envelopeish = fc.record(
  {
    v: fc.oneof(fc.constant(1), fc.anything()),
    c: fc.oneof(fc.constant("t"), fc.string()),
    k: fc.oneof(fc.constantFrom("a", "r"), fc.anything()),
    t: fc.oneof(fc.constant("sink"), fc.anything()),
    f: fc.oneof(fc.tuple(fc.string(), fc.string()), fc.anything()),
    b: fc.anything(),
    p: fc.anything(),
  },
  { requiredKeys: [] },
);
const frameBytes = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.jsonValue().map((v) => encoder.encode(JSON.stringify(v))),
  envelopeish.map((v) => encoder.encode(JSON.stringify(v) ?? "null")),
  fc.string().map((s) => encoder.encode(s)),
);

describe("decoders never throw (fast-check)", () => {
  it("decodeFrame returns a frame or a FrameError for any bytes", () => {
    fc.assert(
      fc.property(frameBytes, (bytes) => {
        const result = decodeFrame(bytes, { clusterTag: "t", maxFrameBytes: 400 });
        expect(isFrameError(result) || result.k === "a" || result.k === "r").toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("channel frame codec returns a frame or a DecodeFailure for any value", () => {
    const channelish = fc.record(
      {
        t: fc.oneof(fc.constantFrom("d", "k", "x"), fc.anything()),
        i: fc.oneof(fc.string({ minLength: 1, maxLength: 5 }), fc.anything()),
        s: fc.oneof(fc.integer(), fc.double(), fc.anything()),
        a: fc.oneof(fc.nat(), fc.double(), fc.anything()),
        r: fc.oneof(fc.array(fc.tuple(fc.integer(), fc.integer())), fc.anything()),
        b: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), channelish), (value) => {
        const result = frames.decode(value);
        if (!isDecodeFailure(result)) {
          expect(["d", "k", "x"]).toContain(result.t);
          if (result.t === "d") expect(result.s).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("valid channel frames round-trip through the wire encoding", () => {
    const frame: fc.Arbitrary<ChannelFrame<number>> = fc.oneof(
      fc.record({ t: fc.constant("d" as const), i: fc.string({ minLength: 1, maxLength: 20 }), s: fc.integer({ min: 1, max: 2 ** 40 }), a: fc.nat(), b: fc.integer() }),
      fc.record({ t: fc.constant("k" as const), i: fc.string({ minLength: 1, maxLength: 20 }), a: fc.nat() }),
      fc.record({ t: fc.constant("x" as const), i: fc.string({ minLength: 1, maxLength: 20 }) }),
    );
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = encodeChannelWireFrame(frames.encode(f), { clusterTag: "t" });
        expect(bytes).toBeInstanceOf(Uint8Array);
        const wire = decodeFrame(bytes as Uint8Array, { clusterTag: "t" });
        if (isFrameError(wire) || wire.k !== "r") return expect.fail("wire frame did not decode");
        expect(frames.decode(wire.payload)).toEqual(f);
      }),
    );
  });

  it("fault commands: any value decodes to a command or a DecodeFailure", () => {
    const commandish = fc.record(
      {
        kind: fc.oneof(fc.constantFrom("set-link-faults", "partition", "block", "unblock", "heal"), fc.anything()),
        from: fc.oneof(fc.string(), fc.anything()),
        to: fc.oneof(fc.string(), fc.anything()),
        drop: fc.oneof(fc.double(), fc.anything()),
        delayMsMin: fc.oneof(fc.integer(), fc.anything()),
        delayMsMax: fc.oneof(fc.integer(), fc.anything()),
        groups: fc.oneof(fc.array(fc.array(fc.string())), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), commandish), (value) => {
        const result = decodeFaultCommand(value);
        if (!isDecodeFailure(result)) expect(["set-link-faults", "partition", "block", "unblock", "heal"]).toContain(result.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it("strict readers never throw and respect their limits", () => {
    fc.assert(
      fc.property(fc.anything(), fc.string({ maxLength: 3 }), (value, key) => {
        const object = readObject({ [key]: value });
        if (isDecodeFailure(object)) return expect.fail("an object literal is an object");
        const s = readString(object, key, { maxLength: 5 });
        if (!isDecodeFailure(s)) expect(s.length).toBeLessThanOrEqual(5);
        const n = readInt(object, key, { min: -10, max: 10 });
        if (!isDecodeFailure(n)) expect(Math.abs(n)).toBeLessThanOrEqual(10);
        const bytes = readBytes(object, key, { maxBytes: 8 });
        if (!isDecodeFailure(bytes)) expect(bytes.length).toBeLessThanOrEqual(8);
        const list = readArray(object, key, { maxLength: 3 }, (item, path) => (typeof item === "number" ? item : new DecodeFailure("number", path)));
        if (!isDecodeFailure(list)) expect(list.length).toBeLessThanOrEqual(3);
        readLiteral(object, key, ["x", 1, true] as const);
      }),
      { numRuns: 2000 },
    );
    // Prototype keys are never read through.
    const object = readObject(JSON.parse('{"a":1}'));
    if (isDecodeFailure(object)) return expect.fail("object");
    expect(readString(object, "toString", { maxLength: 100 })).toBeInstanceOf(DecodeFailure);
    expect(readInt(object, "__proto__", { min: 0, max: 1 })).toBeInstanceOf(DecodeFailure);
  });

  it("base64 round-trips and rejects non-canonical input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodeBase64(encodeBase64(bytes), 64);
        expect(decoded).toEqual(bytes);
      }),
    );
    fc.assert(fc.property(fc.string(), (text) => void decodeBase64(text, 16)));
    expect(decodeBase64("abc", 16)).toBeInstanceOf(DecodeFailure);
    expect(decodeBase64("ab=c", 16)).toBeInstanceOf(DecodeFailure);
    expect(decodeBase64("AAAAAAAA", 5)).toBeInstanceOf(DecodeFailure);
  });

  it("schemaCodec decodes valid input and returns DecodeFailure otherwise", () => {
    const codec = schemaCodec(Schema.Struct({ name: Schema.String.pipe(Schema.maxLength(10)), count: Schema.Int }));
    expect(codec.decode({ name: "x", count: 3 })).toEqual({ name: "x", count: 3 });
    expect(codec.decode({ name: "x", count: 3.5 })).toBeInstanceOf(DecodeFailure);
    expect(codec.encode({ name: "y", count: 1 })).toEqual({ name: "y", count: 1 });
    fc.assert(fc.property(fc.anything(), (value) => void codec.decode(value)), { numRuns: 1000 });
  });

  it("an actor system fed arbitrary frames never throws and never hands an actor an invalid message", () => {
    const sim = new SimScheduler(1);
    const codecs = new Map<string, Codec<unknown>>([["sink", numberCodec as Codec<unknown>]]);
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: sim.schedule, codecs, clusterTag: "t", maxFrameBytes: 400 });
    const got: unknown[] = [];
    system.spawn<number>("sink", { receive: (_c, n) => void got.push(n) });
    const valid = encodeActorFrame("sink", { node: "x", actor: "y" }, 5, { clusterTag: "t" }) as Uint8Array;
    fc.assert(
      fc.property(fc.string({ maxLength: 4 }), frameBytes, (from, bytes) => {
        system.handleFrame(from, bytes, true);
      }),
      { numRuns: 2000 },
    );
    system.handleFrame("x", valid, true);
    sim.runFor(1);
    for (const n of got) expect(Number.isSafeInteger(n)).toBe(true);
    expect(got).toContain(5);
    expect(system.stats().framesReceived).toBe(2001);
  });
});
