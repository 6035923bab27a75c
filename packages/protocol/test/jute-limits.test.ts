import { describe, expect, it } from "vitest";
import {
  JuteError,
  JuteReader,
  JuteWriter,
  decodeClientPacket,
  decodeConnectRequest,
  decodeServerReply,
  defaultJuteLimits,
  encodeClientRequest,
  encodeServerReply,
  isJuteError,
  type JuteLimits,
  type ZkRequest,
} from "../src/index.js";

const limits = (overrides: Partial<JuteLimits>): JuteLimits => ({ ...defaultJuteLimits, ...overrides });

/** Builds a payload with the public writer. */
function build(write: (w: JuteWriter) => void): Uint8Array {
  const w = new JuteWriter(10_000_000);
  write(w);
  const out = w.finish();
  if (out instanceof JuteError) throw out;
  return out;
}
function expectError(value: unknown, code: string, extra: Partial<Pick<JuteError, "limit" | "at" | "xid" | "opCode">> = {}): JuteError {
  expect(isJuteError(value)).toBe(true);
  const error = value as JuteError;
  expect(error._tag).toBe("JuteError");
  expect(error.code).toBe(code);
  for (const [key, expected] of Object.entries(extra)) expect(error[key as keyof JuteError]).toBe(expected);
  return error;
}
const header = (w: JuteWriter, xid: number, type: number): void => {
  w.writeInt(xid, "xid");
  w.writeInt(type, "type");
};

describe("jute limits (each one explicit)", () => {
  it("defaults", () => {
    expect(defaultJuteLimits).toEqual({
      maxPacketBytes: 1024 * 1024 + 64 * 1024,
      maxBufferBytes: 1024 * 1024,
      maxStringBytes: 64 * 1024,
      maxPathLength: 4096,
      maxVectorLength: 1_000_000,
      maxMultiOps: 1024,
      maxPasswordBytes: 256,
    });
    expect(Object.isFrozen(defaultJuteLimits)).toBe(true);
  });

  it("maxPacketBytes: decoders refuse bigger payloads, encoders refuse to produce them", () => {
    const request: ZkRequest = { op: "setData", path: "/a", data: new Uint8Array(100), version: -1 };
    const bytes = encodeClientRequest(1, request) as Uint8Array;
    expectError(decodeClientPacket(bytes, limits({ maxPacketBytes: bytes.byteLength - 1 })), "LimitExceeded", { limit: "maxPacketBytes" });
    expect(isJuteError(decodeClientPacket(bytes, limits({ maxPacketBytes: bytes.byteLength })))).toBe(false);
    expectError(encodeClientRequest(1, request, limits({ maxPacketBytes: 50 })), "LimitExceeded", { limit: "maxPacketBytes" });
    expectError(
      encodeServerReply({ kind: "reply", header: { xid: 1, zxid: 1n, err: 0 }, response: { op: "getChildren", children: ["x".repeat(200)] } }, limits({ maxPacketBytes: 100 })),
      "LimitExceeded",
      { limit: "maxPacketBytes" },
    );
    expectError(decodeServerReply(new Uint8Array(200), () => "ping", limits({ maxPacketBytes: 100 })), "LimitExceeded", { limit: "maxPacketBytes" });
    expectError(decodeConnectRequest(new Uint8Array(200), limits({ maxPacketBytes: 100 })), "LimitExceeded", { limit: "maxPacketBytes" });
  });

  it("maxBufferBytes: data longer than the limit; a claimed length is checked before allocating", () => {
    const request: ZkRequest = { op: "setData", path: "/a", data: new Uint8Array(11), version: -1 };
    const bytes = encodeClientRequest(1, request) as Uint8Array;
    expectError(decodeClientPacket(bytes, limits({ maxBufferBytes: 10 })), "LimitExceeded", { limit: "maxBufferBytes", at: "request.data" });
    expect(decodeClientPacket(bytes, limits({ maxBufferBytes: 11 }))).toMatchObject({ request });
    // Claims 1 MiB (within the limit) but carries 3 bytes: Truncated, nothing allocated.
    const lying = build((w) => {
      header(w, 1, 5);
      w.writeUstring("/a", "path");
      w.writeInt(1024 * 1024, "len");
      w.writeBool(true, "x");
      w.writeBool(true, "x");
      w.writeBool(true, "x");
    });
    expectError(decodeClientPacket(lying), "Truncated", { at: "request.data" });
    // Claims 2^31 - 1: over the limit.
    const huge = build((w) => {
      header(w, 1, 5);
      w.writeUstring("/a", "path");
      w.writeInt(2 ** 31 - 1, "len");
    });
    expectError(decodeClientPacket(huge), "LimitExceeded", { limit: "maxBufferBytes" });
  });

  it("maxStringBytes: a non-path string (auth scheme)", () => {
    const request: ZkRequest = { op: "auth", type: 0, scheme: "digestxx", auth: null };
    const bytes = encodeClientRequest(-4, request) as Uint8Array;
    expectError(decodeClientPacket(bytes, limits({ maxStringBytes: 7 })), "LimitExceeded", { limit: "maxStringBytes", at: "request.scheme" });
    expect(decodeClientPacket(bytes, limits({ maxStringBytes: 8 }))).toMatchObject({ request });
  });

  it("maxPathLength: in UTF-16 units, with the UTF-8 size bounded by 3x first", () => {
    const ten = "/" + "a".repeat(9);
    const bytesOk = encodeClientRequest(1, { op: "getData", path: ten, watch: false }) as Uint8Array;
    expect(decodeClientPacket(bytesOk, limits({ maxPathLength: 10 }))).toMatchObject({ request: { path: ten } });
    const eleven = encodeClientRequest(1, { op: "getData", path: ten + "b", watch: false }) as Uint8Array;
    expectError(decodeClientPacket(eleven, limits({ maxPathLength: 10 })), "LimitExceeded", { limit: "maxPathLength", at: "request.path" });
    // 4 characters of 3 UTF-8 bytes each: 12 bytes, within 3 x 4.
    const wide = "/€€€";
    expect(decodeClientPacket(encodeClientRequest(1, { op: "sync", path: wide }) as Uint8Array, limits({ maxPathLength: 4 }))).toMatchObject({ request: { path: wide } });
    // 13 bytes claimed for a 4-unit limit: refused on the byte length.
    const long = build((w) => {
      header(w, 1, 9);
      w.writeUstring("/€€€a", "path");
    });
    expectError(decodeClientPacket(long, limits({ maxPathLength: 4 })), "LimitExceeded", { limit: "maxPathLength" });
    // Children names and watch paths are paths too.
    const children = encodeServerReply({ kind: "reply", header: { xid: 1, zxid: 0n, err: 0 }, response: { op: "getChildren", children: ["abcdef"] } }) as Uint8Array;
    expectError(decodeServerReply(children, () => "getChildren", limits({ maxPathLength: 5 })), "LimitExceeded", { limit: "maxPathLength" });
  });

  it("maxVectorLength: ACLs, children, watches; claimed lengths beyond the remaining bytes are Truncated", () => {
    const acl = [1, 2, 3].map((perms) => ({ perms, id: { scheme: "world", id: "anyone" } }));
    const bytes = encodeClientRequest(1, { op: "setACL", path: "/", acl, version: -1 }) as Uint8Array;
    expectError(decodeClientPacket(bytes, limits({ maxVectorLength: 2 })), "LimitExceeded", { limit: "maxVectorLength", at: "request.acl" });
    expect(decodeClientPacket(bytes, limits({ maxVectorLength: 3 }))).toMatchObject({ request: { acl } });
    const claims = (count: number): Uint8Array =>
      build((w) => {
        header(w, 1, 7);
        w.writeUstring("/", "path");
        w.writeInt(count, "count");
        w.writeInt(-1, "version");
      });
    expectError(decodeClientPacket(claims(999_999)), "Truncated", { at: "request.acl" });
    expectError(decodeClientPacket(claims(2 ** 31 - 1)), "LimitExceeded", { limit: "maxVectorLength" });
    expectError(decodeClientPacket(claims(-2)), "InvalidLength", { at: "request.acl" });
    // -1 (null) reads as an empty vector.
    expect(decodeClientPacket(claims(-1))).toMatchObject({ request: { acl: [] } });
  });

  it("maxMultiOps: requests and results", () => {
    const ops = Array.from({ length: 4 }, (_, i) => ({ op: "delete" as const, path: `/${i}`, version: -1 }));
    const bytes = encodeClientRequest(1, { op: "multi", ops }) as Uint8Array;
    expectError(decodeClientPacket(bytes, limits({ maxMultiOps: 3 })), "LimitExceeded", { limit: "maxMultiOps" });
    expect(decodeClientPacket(bytes, limits({ maxMultiOps: 4 }))).toMatchObject({ request: { ops } });
    const reply = encodeServerReply({
      kind: "reply",
      header: { xid: 1, zxid: 0n, err: 0 },
      response: { op: "multi", results: [{ op: "delete" }, { op: "delete" }] },
    }) as Uint8Array;
    expectError(decodeServerReply(reply, () => "multi", limits({ maxMultiOps: 1 })), "LimitExceeded", { limit: "maxMultiOps" });
  });

  it("maxPasswordBytes: the connect password", () => {
    const connect = build((w) => {
      w.writeInt(0, "pv");
      w.writeLong(0n, "zxid");
      w.writeInt(30000, "timeout");
      w.writeLong(0n, "session");
      w.writeBuffer(new Uint8Array(17), "passwd");
    });
    expectError(decodeConnectRequest(connect, limits({ maxPasswordBytes: 16 })), "LimitExceeded", { limit: "maxPasswordBytes" });
    expect(isJuteError(decodeConnectRequest(connect, limits({ maxPasswordBytes: 17 })))).toBe(false);
  });
});

describe("jute decode errors", () => {
  it("Truncated: every field checks the bytes left", () => {
    expectError(decodeClientPacket(new Uint8Array([0, 0, 0])), "Truncated", { at: "header.xid" });
    expectError(decodeClientPacket(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 4, 0, 0])), "Truncated", { at: "request.path" });
  });

  it("InvalidBoolean, InvalidUtf8, NullValue, InvalidLength, TrailingBytes", () => {
    const getData = (path: (w: JuteWriter) => void, watch: number): Uint8Array =>
      build((w) => {
        header(w, 1, 4);
        path(w);
        w.writeInt(watch, "watch-as-int");
      });
    // The watch byte is 2 (followed by 3 stray bytes).
    const badBool = build((w) => {
      header(w, 1, 4);
      w.writeUstring("/a", "path");
      w.writeBool(true, "x");
    });
    badBool[badBool.length - 1] = 2;
    expectError(decodeClientPacket(badBool), "InvalidBoolean", { at: "request.watch" });
    const badUtf8 = build((w) => {
      header(w, 1, 9);
      w.writeBuffer(new Uint8Array([0x2f, 0xc3, 0x28]), "path");
    });
    expectError(decodeClientPacket(badUtf8), "InvalidUtf8", { at: "request.path" });
    expectError(decodeClientPacket(getData((w) => w.writeUstring(null, "path"), 0)), "NullValue", { at: "request.path" });
    expectError(decodeClientPacket(getData((w) => w.writeInt(-7, "path"), 0)), "InvalidLength", { at: "request.path" });
    const trailing = build((w) => {
      header(w, 1, 9);
      w.writeUstring("/a", "path");
      w.writeInt(0, "extra");
    });
    expectError(decodeClientPacket(trailing), "TrailingBytes", { at: "request" });
  });

  it("UnknownOpcode carries the xid and opcode (answer Unimplemented, as ZooKeeper does)", () => {
    for (const type of [0, 10, 20, 23, 99, 108, -10, -1, 12345]) {
      const bytes = build((w) => header(w, 77, type));
      expectError(decodeClientPacket(bytes), "UnknownOpcode", { xid: 77, opCode: type });
    }
  });

  it("InvalidMultiOp: read ops in a multi, write ops in a multiRead, bad result types", () => {
    const multiWith = (opcode: number, subType: number): Uint8Array =>
      build((w) => {
        header(w, 1, opcode);
        w.writeInt(subType, "type");
        w.writeBool(false, "done");
        w.writeInt(-1, "err");
        w.writeUstring("/a", "path");
        w.writeBool(false, "watch");
      });
    expectError(decodeClientPacket(multiWith(14, 4)), "InvalidMultiOp");
    expectError(decodeClientPacket(multiWith(22, 2)), "InvalidMultiOp");
    expectError(decodeClientPacket(multiWith(14, 14)), "InvalidMultiOp");
    expectError(encodeClientRequest(1, { op: "multi", ops: [{ op: "getData", path: "/", watch: false } as never] }), "InvalidMultiOp");
    const readResultInMulti = build((w) => {
      w.writeInt(1, "xid");
      w.writeLong(0n, "zxid");
      w.writeInt(0, "err");
      w.writeInt(8, "type");
      w.writeBool(false, "done");
      w.writeInt(0, "err");
      w.writeInt(0, "children");
    });
    expectError(decodeServerReply(readResultInMulti, () => "multi"), "InvalidMultiOp");
    expect(decodeServerReply(readResultInMulti, () => "multiRead")).toBeInstanceOf(JuteError); // no end marker: Truncated
  });

  it("UnexpectedXid; err != 0 replies ignore any body (like ClientCnxn)", () => {
    const reply = encodeServerReply({ kind: "reply", header: { xid: 42, zxid: 1n, err: 0 }, response: { op: "sync", path: "/" } }) as Uint8Array;
    expectError(decodeServerReply(reply, () => undefined), "UnexpectedXid", { xid: 42 });
    // A SASL failure reply carries a body (SetSASLResponse(null)) with a non-zero err.
    const failed = encodeServerReply({ kind: "reply", header: { xid: 3, zxid: 0n, err: -115 }, response: { op: "sasl", token: null } }) as Uint8Array;
    expect(decodeServerReply(failed, () => "sasl")).toEqual({ kind: "reply", header: { xid: 3, zxid: 0n, err: -115 }, response: null });
  });

  it("connect: at most one trailing readOnly byte", () => {
    const connect = (extra: number[]): Uint8Array =>
      build((w) => {
        w.writeInt(0, "pv");
        w.writeLong(0n, "zxid");
        w.writeInt(30000, "timeout");
        w.writeLong(0n, "session");
        w.writeBuffer(new Uint8Array(16), "passwd");
        for (const byte of extra) w.writeBool(byte === 1, "b");
      });
    expect(decodeConnectRequest(connect([]))).not.toHaveProperty("readOnly");
    expect(decodeConnectRequest(connect([1]))).toHaveProperty("readOnly", true);
    expectError(decodeConnectRequest(connect([0, 0])), "TrailingBytes");
  });
});

describe("jute encode errors", () => {
  it("InvalidValue for values that do not fit their jute type", () => {
    expectError(encodeClientRequest(2 ** 31, { op: "ping" }), "InvalidValue", { at: "header.xid" });
    expectError(encodeClientRequest(1, { op: "delete", path: "/", version: 1.5 }), "InvalidValue", { at: "request.version" });
    expectError(encodeClientRequest(1, { op: "createTTL", path: "/", data: null, acl: [], flags: 5, ttl: 2n ** 63n }), "InvalidValue", { at: "request.ttl" });
    expectError(encodeClientRequest(1, { op: "nope" } as never), "InvalidValue");
    expectError(encodeServerReply({ kind: "notification", header: { xid: 3, zxid: 0n, err: 0 }, event: { type: 1, state: 3, path: "/" } }), "InvalidValue");
    expectError(encodeServerReply({ kind: "reply", header: { xid: -1, zxid: 0n, err: 0 }, response: null }), "InvalidValue");
  });

  it("the reader and writer never throw and keep the first error", () => {
    const r = new JuteReader(new Uint8Array([0, 0]));
    expect(r.readInt("a")).toBe(0);
    expect(r.readLong("b")).toBe(0n);
    expect(r.readBuffer("c")).toBeNull();
    expect(r.readVector("d", 4, (reader, at) => reader.readInt(at))).toEqual([]);
    expect(r.error?.at).toBe("a");
    const w = new JuteWriter(6);
    w.writeInt(1, "a");
    w.writeInt(2, "b");
    w.writeInt(3.5, "c");
    expectError(w.finish(), "LimitExceeded", { at: "b", limit: "maxPacketBytes" });
  });
});
