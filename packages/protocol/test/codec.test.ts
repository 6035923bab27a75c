import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DecodeError,
  ErrorCode,
  OPEN_ACL_UNSAFE,
  decodeReadOp,
  decodeReadResult,
  decodeStat,
  decodeTxn,
  decodeTxnBytes,
  decodeTxnResult,
  decodeWriteOp,
  encodeReadResult,
  encodeTxn,
  encodeTxnBytes,
  encodeTxnResult,
  encodeWriteOp,
} from "../src/index.js";
import type { Stat, Txn, TxnResult, WriteOp ,
  CreateMode} from "../src/index.js";

const stat: Stat = { czxid: 1, mzxid: 2, pzxid: 3, ctime: 4, mtime: 5, version: 6, cversion: 7, aversion: 8, ephemeralOwner: 9, dataLength: 10, numChildren: 11 };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

const arbPath = fc.string({ maxLength: 20 }).map((s) => `/${s}`);
const arbAcl = fc.array(fc.record({ perms: fc.integer({ min: 0, max: 31 }), id: fc.record({ scheme: fc.constantFrom("world", "digest", "auth"), id: fc.string({ maxLength: 10 }) }) }), { maxLength: 3 });
const arbData = fc.uint8Array({ maxLength: 40 });
const arbVersion = fc.integer({ min: -1, max: 1000 });
const arbCreate = fc.record({ type: fc.constant("create" as const), path: arbPath, data: arbData, acl: arbAcl, mode: fc.constantFrom(0, 1, 2, 3, 4) as fc.Arbitrary<CreateMode> });
const arbSub = fc.oneof(
  arbCreate,
  fc.record({ type: fc.constant("delete" as const), path: arbPath, version: arbVersion }),
  fc.record({ type: fc.constant("setData" as const), path: arbPath, data: arbData, version: arbVersion }),
  fc.record({ type: fc.constant("check" as const), path: arbPath, version: arbVersion }),
);
const arbWrite: fc.Arbitrary<WriteOp> = fc.oneof(
  arbCreate,
  fc.record({ type: fc.constant("setACL" as const), path: arbPath, acl: arbAcl, version: arbVersion }),
  fc.record({ type: fc.constant("multi" as const), ops: fc.array(arbSub, { maxLength: 5 }) }),
  arbSub.filter((op): op is Exclude<typeof op, { type: "check" }> => op.type !== "check"),
);
const arbTxn: fc.Arbitrary<Txn> = fc.oneof(
  fc.record({ type: fc.constant("createSession" as const), sessionId: fc.integer({ min: 1 }), timeoutMs: fc.integer({ min: 1 }), secretHash: fc.string({ maxLength: 20 }) }),
  fc.record({ type: fc.constant("closeSession" as const), sessionId: fc.integer({ min: 1 }), reason: fc.constantFrom("closed" as const, "expired" as const) }),
  fc.record({ type: fc.constant("request" as const), sessionId: fc.integer({ min: 1 }), seq: fc.integer({ min: 1 }), auth: fc.array(fc.record({ scheme: fc.constant("digest"), id: fc.string({ maxLength: 10 }) }), { maxLength: 2 }), op: arbWrite }),
  fc.record({ type: fc.constant("reap" as const), path: arbPath, kind: fc.constantFrom("container" as const, "ttl" as const) }),
  fc.constant({ type: "noop" as const }),
);

describe("codecs", () => {
  it("round-trip write ops, including binary data", () => {
    fc.assert(
      fc.property(arbWrite, (op) => {
        const json: unknown = JSON.parse(JSON.stringify(encodeWriteOp(op)));
        expect(decodeWriteOp(json)).toEqual(op);
      }),
    );
  });
  it("round-trip transactions through bytes", () => {
    fc.assert(
      fc.property(arbTxn, (txn) => {
        expect(decodeTxnBytes(encodeTxnBytes(txn))).toEqual(txn);
      }),
    );
  });
  it("round-trip results", () => {
    const results: TxnResult[] = [
      { type: "create", path: "/a0000000001", stat },
      { type: "setData", stat },
      { type: "setACL", stat },
      { type: "delete" },
      { type: "error", code: ErrorCode.NoNode, path: "/x" },
      { type: "multi", results: [{ type: "error", code: ErrorCode.Ok }, { type: "error", code: ErrorCode.BadVersion }, { type: "error", code: ErrorCode.RuntimeInconsistency }] },
      { type: "createSession", sessionId: 7 },
      { type: "closeSession", sessionId: 7, deleted: ["/e"] },
      { type: "reap", path: "/c" },
      { type: "noop" },
    ];
    for (const result of results) expect(decodeTxnResult(JSON.parse(JSON.stringify(encodeTxnResult(result))))).toEqual(result);
    const reads = [
      { type: "getData" as const, data: bytes("hi"), stat },
      { type: "exists" as const, stat: null },
      { type: "exists" as const, stat },
      { type: "getChildren" as const, children: ["a", "b"], stat },
      { type: "getAllChildrenNumber" as const, count: 3 },
      { type: "getEphemerals" as const, paths: ["/e"] },
      { type: "getACL" as const, acl: OPEN_ACL_UNSAFE, stat },
    ];
    for (const result of reads) expect(decodeReadResult(JSON.parse(JSON.stringify(encodeReadResult(result))))).toEqual(result);
  });
  it("reject malformed input with a DecodeError", () => {
    expect(decodeStat({ ...stat, extra: 1 })).toBeInstanceOf(DecodeError);
    expect(decodeStat({ ...stat, version: 1.5 })).toBeInstanceOf(DecodeError);
    expect(decodeStat({ ...stat, czxid: 2 ** 53 })).toBeInstanceOf(DecodeError);
    expect(decodeWriteOp({ type: "create", path: "/a", data: "!!", acl: [], mode: 0 })).toBeInstanceOf(DecodeError);
    expect(decodeWriteOp({ type: "create", path: "/a", data: "", acl: [], mode: 9 })).toBeInstanceOf(DecodeError);
    expect(decodeWriteOp({ type: "multi", ops: [{ type: "multi", ops: [] }] })).toBeInstanceOf(DecodeError);
    expect(decodeWriteOp({ type: "setData", path: "/a", data: "A".repeat(8), version: 0 }, { ...defaultLimits(), maxDataBytes: 5 })).toBeInstanceOf(DecodeError);
    expect(decodeTxn({ type: "request", sessionId: 0, seq: 1, auth: [], op: { type: "delete", path: "/a", version: -1 } })).toBeInstanceOf(DecodeError);
    expect(decodeTxnBytes(new Uint8Array([0xff, 0xfe]))).toBeInstanceOf(DecodeError);
    expect(decodeReadOp({ type: "getData", path: "/a", watch: "yes" })).toBeInstanceOf(DecodeError);
    expect(decodeTxnResult({ type: "error", code: -9999 })).toBeInstanceOf(DecodeError);
  });
  it("never throw on arbitrary input (fuzz)", () => {
    const decoders = [decodeWriteOp, decodeReadOp, decodeTxn, decodeTxnResult, decodeReadResult, decodeStat];
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), arbTxn.map((t) => mutate(encodeTxn(t)))), (input) => {
        for (const decode of decoders) {
          let out: unknown;
          expect(() => {
            out = decode(input as never);
          }).not.toThrow();
          expect(out).toBeDefined();
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (payload) => {
        const out = decodeTxnBytes(payload);
        expect(out instanceof DecodeError || typeof out === "object").toBe(true);
      }),
    );
  });
});

function defaultLimits() {
  return { maxPathLength: 4096, maxDataBytes: 1 << 20, maxAclEntries: 256, maxIdLength: 1024, maxMultiOps: 1024, maxAuthIds: 64, maxSecretLength: 256, maxListLength: 1000, maxMessageBytes: 1 << 22 };
}

/** Drops or corrupts one field of an encoded value, deterministically from its shape. */
function mutate(json: unknown): unknown {
  if (typeof json !== "object" || json === null) return json;
  const copy = { ...(json as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const key = keys[keys.length - 1];
  if (key !== undefined) copy[key] = typeof copy[key] === "number" ? "x" : 1.5;
  return copy;
}
