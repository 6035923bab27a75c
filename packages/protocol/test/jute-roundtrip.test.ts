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
import {
  arbConnectRequest,
  arbConnectResponse,
  arbInt32,
  arbReplyWithOp,
  requestArbitraries,
  responseArbitraries,
} from "./jute-arbitraries.js";

function ok<T>(value: T | JuteError): T {
  if (value instanceof JuteError) throw value;
  return value;
}

describe("jute round trips", () => {
  it("ConnectRequest, with and without the readOnly byte", () => {
    fc.assert(
      fc.property(arbConnectRequest, (request) => {
        expect(ok(decodeConnectRequest(ok(encodeConnectRequest(request))))).toEqual(request);
      }),
      { numRuns: 300 },
    );
  });

  it("ConnectResponse, with and without the readOnly byte", () => {
    fc.assert(
      fc.property(arbConnectResponse, (response) => {
        expect(ok(decodeConnectResponse(ok(encodeConnectResponse(response))))).toEqual(response);
      }),
      { numRuns: 300 },
    );
  });

  for (const op of Object.keys(requestArbitraries) as ZkRequestOp[]) {
    it(`request ${op} (opcode ${zkRequestOpCodes[op]})`, () => {
      fc.assert(
        fc.property(arbInt32, requestArbitraries[op], (xid, request) => {
          const decoded = ok(decodeClientPacket(ok(encodeClientRequest(xid, request))));
          expect(decoded).toEqual({ header: { xid, type: zkRequestOpCodes[op] }, request });
        }),
        { numRuns: 100 },
      );
    });
  }

  for (const op of Object.keys(responseArbitraries) as ZkRequestOp[]) {
    it(`response to ${op}`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), responseArbitraries[op], (xid, response) => {
          const reply = { kind: "reply" as const, header: { xid, zxid: 5n, err: 0 }, response };
          expect(ok(decodeServerReply(ok(encodeServerReply(reply)), () => op))).toEqual(reply);
        }),
        { numRuns: 100 },
      );
    });
  }

  it("any reply or notification", () => {
    fc.assert(
      fc.property(arbReplyWithOp, ({ op, reply }) => {
        expect(ok(decodeServerReply(ok(encodeServerReply(reply)), () => op))).toEqual(reply);
      }),
      { numRuns: 1000 },
    );
  });
});
