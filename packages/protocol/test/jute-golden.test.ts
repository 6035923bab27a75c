/**
 * Golden byte vectors. The request vectors were produced by kazoo 2.8's own
 * serializers (kazoo.protocol.serialization, Debian python3-kazoo) with its
 * framing (`_submit`: length, xid, type, record); the reply vectors were
 * built from zookeeper.jute and checked by parsing them with kazoo's
 * deserializers (ReplyHeader, Watch, Connect, Create, GetData, GetChildren2,
 * GetACL, Create2, Transaction). The "hand" vectors are written from the
 * jute definitions byte by byte.
 */
import { describe, expect, it } from "vitest";
import {
  JuteError,
  ZkOpCode,
  decodeClientPacket,
  decodeConnectRequest,
  decodeConnectResponse,
  decodeServerReply,
  encodeClientRequest,
  encodeConnectRequest,
  encodeConnectResponse,
  encodeServerReply,
  frameZkPacket,
  type ZkClientPacket,
  type ZkRequestOp,
  type ZkServerReply,
  type ZkStat,
} from "../src/index.js";

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function ok<T>(value: T | JuteError): T {
  if (value instanceof JuteError) throw value;
  return value;
}
/** Strips and checks the 4-byte length prefix. */
function payload(frame: string): Uint8Array {
  const bytes = hex(frame);
  const length = new DataView(bytes.buffer).getInt32(0, false);
  expect(length).toBe(bytes.byteLength - 4);
  return bytes.subarray(4);
}

const world = { scheme: "world", id: "anyone" };
const OPEN = [{ perms: 31, id: world }];

// kazoo 2.8: Connect(0, 0, 30000, 0, b"\0" * 16, False) -- kazoo always sends the readOnly byte.
const KAZOO_CONNECT = "0000002d000000000000000000000000000075300000000000000000000000100000000000000000000000000000000000";
const KAZOO_CONNECT_RESUME = "0000002d000000000000000100000005000027107234567890abcdef00000010000102030405060708090a0b0c0d0e0f01";

const kazooRequests: [string, string, ZkClientPacket][] = [
  [
    "create ephemeral-sequential, OPEN_ACL_UNSAFE",
    "0000004000000001000000010000000a2f6170702f6e6f64652d000000077061796c6f6164000000010000001f00000005776f726c6400000006616e796f6e6500000003",
    { header: { xid: 1, type: 1 }, request: { op: "create", path: "/app/node-", data: utf8("payload"), acl: OPEN, flags: 3 } },
  ],
  [
    "getData with a watch",
    "000000110000000300000004000000042f61707001",
    { header: { xid: 3, type: 4 }, request: { op: "getData", path: "/app", watch: true } },
  ],
  [
    "setData, binary data",
    "0000001a0000000400000005000000042f6170700000000200ff00000007",
    { header: { xid: 4, type: 5 }, request: { op: "setData", path: "/app", data: new Uint8Array([0, 255]), version: 7 } },
  ],
  ["getChildren2", "0000000e000000050000000c000000012f00", { header: { xid: 5, type: 12 }, request: { op: "getChildren2", path: "/", watch: false } }],
  ["exists with a watch", "000000100000000600000003000000032f7a6b01", { header: { xid: 6, type: 3 }, request: { op: "exists", path: "/zk", watch: true } }],
  ["delete any version", "000000120000000700000002000000022f78ffffffff", { header: { xid: 7, type: 2 }, request: { op: "delete", path: "/x", version: -1 } }],
  ["sync", "0000000e0000000800000009000000022f73", { header: { xid: 8, type: 9 }, request: { op: "sync", path: "/s" } }],
  [
    "setACL",
    "000000420000000900000007000000022f6100000002000000010000000664696765737400000004753a683d0000001f0000000269700000000831302e302e302e3100000002",
    {
      header: { xid: 9, type: 7 },
      request: {
        op: "setACL",
        path: "/a",
        acl: [
          { perms: 1, id: { scheme: "digest", id: "u:h=" } },
          { perms: 31, id: { scheme: "ip", id: "10.0.0.1" } },
        ],
        version: 2,
      },
    },
  ],
  ["getACL", "0000000e0000000a00000006000000022f61", { header: { xid: 10, type: 6 }, request: { op: "getACL", path: "/a" } }],
  [
    "multi: create, delete, setData, check",
    "000000860000000b0000000e0000000100ffffffff000000022f6d0000000164000000010000001f00000005776f726c6400000006616e796f6e65000000000000000200ffffffff000000062f6d2f6f6c64000000050000000500ffffffff000000022f6d0000000165ffffffff0000000d00ffffffff000000022f6d00000003ffffffff01ffffffff",
    {
      header: { xid: 11, type: 14 },
      request: {
        op: "multi",
        ops: [
          { op: "create", path: "/m", data: utf8("d"), acl: OPEN, flags: 0 },
          { op: "delete", path: "/m/old", version: 5 },
          { op: "setData", path: "/m", data: utf8("e"), version: -1 },
          { op: "check", path: "/m", version: 3 },
        ],
      },
    },
  ],
  [
    "create2 container, null data",
    "000000310000000c0000000f000000022f63ffffffff000000010000001f00000005776f726c6400000006616e796f6e6500000004",
    { header: { xid: 12, type: 15 }, request: { op: "create2", path: "/c", data: null, acl: OPEN, flags: 4 } },
  ],
  [
    "reconfig with null strings",
    "000000300000000d00000010000000147365727665722e343d683a323838383a33383838ffffffffffffffffffffffffffffffff",
    {
      header: { xid: 13, type: 16 },
      request: { op: "reconfig", joiningServers: "server.4=h:2888:3888", leavingServers: null, newMembers: null, curConfigId: -1n },
    },
  ],
  [
    "auth packet (xid -4)",
    "00000025fffffffc0000006400000000000000066469676573740000000b757365723a736563726574",
    { header: { xid: -4, type: 100 }, request: { op: "auth", type: 0, scheme: "digest", auth: utf8("user:secret") } },
  ],
  ["ping (xid -2)", "00000008fffffffe0000000b", { header: { xid: -2, type: 11 }, request: { op: "ping" } }],
  ["closeSession", "000000080000000efffffff5", { header: { xid: 14, type: -11 }, request: { op: "closeSession" } }],
];

// Written by hand from zookeeper.jute.
const handRequests: [string, string, ZkClientPacket][] = [
  [
    "addWatch persistentRecursive",
    "00000012 00000005 0000006a 00000002 2f77 00000001",
    { header: { xid: 5, type: ZkOpCode.addWatch }, request: { op: "addWatch", path: "/w", mode: 1 } },
  ],
  [
    "SetWatches2 (xid -8)",
    "00000030 fffffff8 00000069 0000000000000042 00000001 00000002 2f64 00000000 00000000 00000001 00000002 2f70 00000000",
    {
      header: { xid: -8, type: ZkOpCode.setWatches2 },
      request: { op: "setWatches2", relativeZxid: 0x42n, dataWatches: ["/d"], existWatches: [], childWatches: [], persistentWatches: ["/p"], persistentRecursiveWatches: [] },
    },
  ],
  [
    "multiRead: getData, getChildren",
    "00000031 00000010 00000016 00000004 00 ffffffff 00000002 2f61 00 00000008 00 ffffffff 00000002 2f62 01 ffffffff 01 ffffffff",
    {
      header: { xid: 16, type: ZkOpCode.multiRead },
      request: {
        op: "multiRead",
        ops: [
          { op: "getData", path: "/a", watch: false },
          { op: "getChildren", path: "/b", watch: true },
        ],
      },
    },
  ],
  ["whoAmI", "00000008 00000011 0000006b", { header: { xid: 17, type: ZkOpCode.whoAmI }, request: { op: "whoAmI" } }],
  [
    "createTTL persistent-with-TTL, 60 s",
    "00000022 00000012 00000015 00000002 2f74 00000000 00000000 00000005 000000000000ea60",
    { header: { xid: 18, type: ZkOpCode.createTTL }, request: { op: "createTTL", path: "/t", data: new Uint8Array(0), acl: [], flags: 5, ttl: 60000n } },
  ],
];

const stat: ZkStat = {
  czxid: 0x10n,
  mzxid: 0x11n,
  ctime: 1700000000000n,
  mtime: 1700000000001n,
  version: 2,
  cversion: 3,
  aversion: 4,
  ephemeralOwner: 0x0123456789abcdefn,
  dataLength: 5,
  numChildren: 6,
  pzxid: 0x12n,
};
const STAT_HEX = "0000000000000010 0000000000000011 0000018bcfe56800 0000018bcfe56801 00000002 00000003 00000004 0123456789abcdef 00000005 00000006 0000000000000012";

// Verified by parsing with kazoo's deserializers.
const replies: [string, string, ZkRequestOp, ZkServerReply][] = [
  [
    "create -> CreateResponse",
    "0000002800000001000000000000001000000000000000142f6170702f6e6f64652d30303030303030303031",
    "create",
    { kind: "reply", header: { xid: 1, zxid: 0x10n, err: 0 }, response: { op: "create", path: "/app/node-0000000001" } },
  ],
  [
    "getData -> GetDataResponse",
    `0000005d 00000003 0000000000000011 00000000 00000005 68656c6c6f ${STAT_HEX}`,
    "getData",
    { kind: "reply", header: { xid: 3, zxid: 0x11n, err: 0 }, response: { op: "getData", data: utf8("hello"), stat } },
  ],
  [
    "getChildren2 -> GetChildren2Response",
    `00000062 00000005 0000000000000012 00000000 00000002 00000001 61 00000001 62 ${STAT_HEX}`,
    "getChildren2",
    { kind: "reply", header: { xid: 5, zxid: 0x12n, err: 0 }, response: { op: "getChildren2", children: ["a", "b"], stat } },
  ],
  ["NoNode error: header only", "00000010000000070000000000000020ffffff9b", "getData", { kind: "reply", header: { xid: 7, zxid: 0x20n, err: -101 }, response: null }],
  [
    "NodeDataChanged notification (xid -1)",
    "00000020ffffffff0000000000000021000000000000000300000003000000042f617070",
    "ping",
    { kind: "notification", header: { xid: -1, zxid: 0x21n, err: 0 }, event: { type: 3, state: 3, path: "/app" } },
  ],
  [
    "multi -> MultiResponse (create, delete, setData, check)",
    `00000087 0000000b 0000000000000022 00000000 00000001 00 00000000 00000002 2f6d 00000002 00 00000000 00000005 00 00000000 ${STAT_HEX} 0000000d 00 00000000 ffffffff 01 ffffffff`,
    "multi",
    {
      kind: "reply",
      header: { xid: 11, zxid: 0x22n, err: 0 },
      response: { op: "multi", results: [{ op: "create", path: "/m" }, { op: "delete" }, { op: "setData", stat }, { op: "check" }] },
    },
  ],
  [
    "failed multi: Ok, NoNode, RuntimeInconsistency",
    "000000400000000b000000000000002200000000ffffffff000000000000000000ffffffff00ffffff9bffffff9bffffffff00fffffffefffffffeffffffff01ffffffff",
    "multi",
    {
      kind: "reply",
      header: { xid: 11, zxid: 0x22n, err: 0 },
      response: {
        op: "multi",
        results: [
          { op: "error", err: 0 },
          { op: "error", err: -101 },
          { op: "error", err: -2 },
        ],
      },
    },
  ],
  [
    "getACL -> GetACLResponse",
    `0000006f 0000000a 0000000000000023 00000000 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65 ${STAT_HEX}`,
    "getACL",
    { kind: "reply", header: { xid: 10, zxid: 0x23n, err: 0 }, response: { op: "getACL", acl: OPEN, stat } },
  ],
  ["ping reply (xid -2)", "00000010fffffffe000000000000003000000000", "ping", { kind: "reply", header: { xid: -2, zxid: 0x30n, err: 0 }, response: { op: "ping" } }],
  [
    "create2 -> Create2Response",
    `0000005a 0000000c 0000000000000031 00000000 00000002 2f63 ${STAT_HEX}`,
    "create2",
    { kind: "reply", header: { xid: 12, zxid: 0x31n, err: 0 }, response: { op: "create2", path: "/c", stat } },
  ],
  [
    "whoAmI -> WhoAmIResponse (hand)",
    "00000025 00000009 0000000000000005 00000000 00000001 00000006 646967657374 00000003 753a78",
    "whoAmI",
    { kind: "reply", header: { xid: 9, zxid: 5n, err: 0 }, response: { op: "whoAmI", clientInfo: [{ authScheme: "digest", user: "u:x" }] } },
  ],
  [
    "addWatch -> ErrorResponse(0) (hand)",
    "00000014 00000006 0000000000000007 00000000 00000000",
    "addWatch",
    { kind: "reply", header: { xid: 6, zxid: 7n, err: 0 }, response: { op: "addWatch", err: 0 } },
  ],
];

describe("jute golden vectors", () => {
  it("kazoo's ConnectRequest (with readOnly) decodes and re-encodes byte for byte", () => {
    const request = ok(decodeConnectRequest(payload(KAZOO_CONNECT)));
    expect(request).toEqual({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false });
    expect(toHex(frameZkPacket(ok(encodeConnectRequest(request))))).toBe(KAZOO_CONNECT);

    const resume = ok(decodeConnectRequest(payload(KAZOO_CONNECT_RESUME)));
    expect(resume.sessionId).toBe(0x7234567890abcdefn);
    expect(resume.lastZxidSeen).toBe(0x100000005n);
    expect(resume.timeOut).toBe(10000);
    expect(resume.passwd).toEqual(new Uint8Array([...Array(16).keys()]));
    expect(resume.readOnly).toBe(true);
    expect(toHex(frameZkPacket(ok(encodeConnectRequest(resume))))).toBe(KAZOO_CONNECT_RESUME);
  });

  it("a ConnectRequest without the readOnly byte (node-zookeeper-client, old clients) (hand)", () => {
    const frame = "0000002c 00000000 0000000000000000 00000fa0 0000000000000000 00000010 00000000000000000000000000000000";
    const request = ok(decodeConnectRequest(payload(frame)));
    expect(request).toEqual({ protocolVersion: 0, lastZxidSeen: 0n, timeOut: 4000, sessionId: 0n, passwd: new Uint8Array(16) });
    expect("readOnly" in request).toBe(false);
    expect(toHex(frameZkPacket(ok(encodeConnectRequest(request))))).toBe(frame.replace(/\s+/g, ""));
  });

  it("ConnectResponse with readOnly, a full 64-bit session id (kazoo-checked)", () => {
    const frame = "0000002500000000000075300123456789abcdef00000010abababababababababababababababab00";
    const response = { protocolVersion: 0, timeOut: 30000, sessionId: 0x0123456789abcdefn, passwd: new Uint8Array(16).fill(0xab), readOnly: false };
    expect(toHex(frameZkPacket(ok(encodeConnectResponse(response))))).toBe(frame);
    expect(ok(decodeConnectResponse(payload(frame)))).toEqual(response);
    // Session ids use all 64 bits: the sign bit survives.
    const negative = { protocolVersion: 0, timeOut: 1, sessionId: -0x7edcba9876543211n, passwd: null };
    expect(ok(decodeConnectResponse(ok(encodeConnectResponse(negative))))).toEqual(negative);
  });

  for (const [name, frame, packet] of [...kazooRequests, ...handRequests]) {
    it(`request: ${name}`, () => {
      expect(ok(decodeClientPacket(payload(frame)))).toEqual(packet);
      expect(toHex(frameZkPacket(ok(encodeClientRequest(packet.header.xid, packet.request))))).toBe(frame.replace(/\s+/g, ""));
    });
  }

  it("kazoo's CREATOR_ALL_ACL: auth:\"\" arrives as a null id and reads as \"\"", () => {
    const frame = "0000002f0000000200000001000000072f73656375726500000000000000010000001f0000000461757468ffffffff00000000";
    expect(ok(decodeClientPacket(payload(frame)))).toEqual({
      header: { xid: 2, type: 1 },
      request: { op: "create", path: "/secure", data: new Uint8Array(0), acl: [{ perms: 31, id: { scheme: "auth", id: "" } }], flags: 0 },
    });
  });

  for (const [name, frame, op, reply] of replies) {
    it(`reply: ${name}`, () => {
      expect(toHex(frameZkPacket(ok(encodeServerReply(reply))))).toBe(frame.replace(/\s+/g, ""));
      expect(ok(decodeServerReply(payload(frame), () => op))).toEqual(reply);
    });
  }
});
