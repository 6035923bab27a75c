/**
 * Fuzzing the jute decoders with fast-check: random bytes, mutated valid
 * packets, truncations and hostile length prefixes. The decoders must never
 * throw, must return a value or a JuteError, and must never return a packet
 * for a truncated input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JuteError,
  decodeClientPacket,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeServerReply,
  encodeClientRequest,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeServerReply,
  zkRequestOpCodes,
  type ZkRequestOp,
} from "../src/index.js";
import { arbConnectRequest, arbConnectResponse, arbInt32, arbReplyWithOp, arbRequest } from "./jute-arbitraries.js";

const ops = Object.keys(zkRequestOpCodes) as ZkRequestOp[];

function ok<T>(value: T | JuteError): T {
  if (value instanceof JuteError) throw value;
  return value;
}

/** The decoders' last-resort catch turns a throw into "codec failure": that must never happen. */
function notInternal(result: unknown): void {
  if (result instanceof JuteError) expect(result.reason).not.toMatch(/^codec failure/);
}

/** Runs every decoder on the bytes; each must return (not throw) a value or a JuteError. */
function decodeAll(bytes: Uint8Array, op: ZkRequestOp): void {
  const results: unknown[] = [
    decodeClientPacket(bytes),
    decodeConnectRequest(bytes),
    decodeConnectResponse(bytes),
    decodeServerReply(bytes, () => op),
    decodeServerReply(bytes, () => undefined),
  ];
  for (const result of results) {
    expect(result === undefined || result === null).toBe(false);
    if (result instanceof JuteError) {
      expect(result._tag).toBe("JuteError");
      expect(typeof result.code).toBe("string");
      notInternal(result);
    }
  }
}

const arbClientPacket = fc.tuple(arbInt32, arbRequest).map(([xid, request]) => ok(encodeClientRequest(xid, request)));
const arbReplyPacket = arbReplyWithOp.map(({ op, reply }) => ({ op, bytes: ok(encodeServerReply(reply)) }));

/** A valid packet with some bytes overwritten, inserted or removed. */
function mutate(bytes: Uint8Array, edits: { at: number; kind: number; value: number }[]): Uint8Array {
  let out = Array.from(bytes);
  for (const { at, kind, value } of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 0) out[i] = value;
    else if (kind === 1) out.splice(i, 0, value);
    else if (kind === 2) out.splice(i, 1);
    else out = out.concat([0xff, 0xff, 0xff, value]); // a length-like tail
  }
  return new Uint8Array(out);
}
const arbEdits = fc.array(fc.record({ at: fc.nat(), kind: fc.integer({ min: 0, max: 3 }), value: fc.integer({ min: 0, max: 255 }) }), {
  minLength: 1,
  maxLength: 6,
});

describe("jute fuzz", () => {
  it("random bytes never make a decoder throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...ops), (bytes, op) => decodeAll(bytes, op)),
      { numRuns: 5000 },
    );
  });

  it("random bytes behind a valid header never make the dispatcher throw", () => {
    fc.assert(
      fc.property(arbInt32, fc.constantFrom(...Object.values(zkRequestOpCodes)), fc.uint8Array({ maxLength: 200 }), (xid, type, body) => {
        const bytes = new Uint8Array(8 + body.byteLength);
        const view = new DataView(bytes.buffer);
        view.setInt32(0, xid);
        view.setInt32(4, type);
        bytes.set(body, 8);
        const result = decodeClientPacket(bytes);
        notInternal(result);
        if (!(result instanceof JuteError)) {
          expect(result.header).toEqual({ xid, type });
          // Whatever decoded re-encodes to a packet that decodes to the same thing.
          expect(decodeClientPacket(ok(encodeClientRequest(xid, result.request)))).toEqual(result);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("mutated client packets: never throw; what decodes is stable", () => {
    fc.assert(
      fc.property(arbClientPacket, arbEdits, (bytes, edits) => {
        const mutated = mutate(bytes, edits);
        decodeAll(mutated, "getData");
        const result = decodeClientPacket(mutated);
        if (!(result instanceof JuteError)) {
          expect(decodeClientPacket(ok(encodeClientRequest(result.header.xid, result.request)))).toEqual(result);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated server replies: never throw; what decodes is stable", () => {
    fc.assert(
      fc.property(arbReplyPacket, arbEdits, ({ op, bytes }, edits) => {
        const mutated = mutate(bytes, edits);
        decodeAll(mutated, op);
        const result = decodeServerReply(mutated, () => op);
        if (!(result instanceof JuteError) && (result.kind === "notification" || result.response !== null)) {
          expect(decodeServerReply(ok(encodeServerReply(result)), () => op)).toEqual(result);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("every truncation of a client packet is an error, never a packet", () => {
    fc.assert(
      fc.property(arbClientPacket, (bytes) => {
        for (let cut = 0; cut < bytes.byteLength; cut++) {
          const result = decodeClientPacket(bytes.subarray(0, cut));
          expect(result).toBeInstanceOf(JuteError);
          notInternal(result);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("every truncation of a server reply is an error, never a reply", () => {
    fc.assert(
      fc.property(arbReplyPacket, ({ op, bytes }) => {
        for (let cut = 0; cut < bytes.byteLength; cut++) {
          const result = decodeServerReply(bytes.subarray(0, cut), () => op);
          expect(result).toBeInstanceOf(JuteError);
          notInternal(result);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("truncated connect packets are errors (cutting only the optional readOnly byte leaves a valid old-style connect)", () => {
    fc.assert(
      fc.property(arbConnectRequest, arbConnectResponse, (request, response) => {
        const requestBytes = ok(encodeConnectRequest(request));
        const responseBytes = ok(encodeConnectResponse(response));
        const optional = (readOnly: boolean | undefined, length: number): number => (readOnly === undefined ? length : length - 1);
        for (let cut = 0; cut < requestBytes.byteLength; cut++) {
          const result = decodeConnectRequest(requestBytes.subarray(0, cut));
          if (cut === optional(request.readOnly, requestBytes.byteLength)) {
            const { readOnly: _dropped, ...rest } = request;
            expect(result).toEqual(rest);
          } else expect(result).toBeInstanceOf(JuteError);
        }
        for (let cut = 0; cut < responseBytes.byteLength; cut++) {
          const result = decodeConnectResponse(responseBytes.subarray(0, cut));
          if (cut === optional(response.readOnly, responseBytes.byteLength)) {
            const { readOnly: _dropped, ...rest } = response;
            expect(result).toEqual(rest);
          } else expect(result).toBeInstanceOf(JuteError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("hostile length prefixes anywhere fail fast without allocating what they claim", () => {
    fc.assert(
      fc.property(arbClientPacket, fc.nat(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (bytes, at, length) => {
        if (bytes.byteLength < 4) return;
        const copy = bytes.slice();
        new DataView(copy.buffer).setInt32(at % (copy.byteLength - 3), length);
        const result = decodeClientPacket(copy);
        notInternal(result);
        if (!(result instanceof JuteError)) {
          expect(decodeClientPacket(ok(encodeClientRequest(result.header.xid, result.request)))).toEqual(result);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
