/**
 * The client side of ZooKeeper's wire protocol, against a scripted server
 * built from the protocol package's server-side codec (no sockets): what the
 * client sends, how it reads ZooKeeper's replies, and ZooKeeper's contract
 * on a lost connection (in-flight calls fail with ConnectionLoss and are
 * never re-sent, because a plain ZooKeeper server cannot dedupe them).
 */
import { SeededRandom, SimScheduler } from "@corral/actors";
import {
  ConnectionLossError,
  ErrorCode,
  EventType,
  KeeperState,
  NoNodeError,
  SessionExpiredError,
  ZkPacketFramer,
  ZkXid,
  decodeClientPacket,
  decodeConnectRequest,
  emptyWatchSet,
  encodeConnectResponse,
  encodeServerReply,
  frameZkPacket,
  isJuteError,
  type ZkClientPacket,
  type ZkConnectRequest,
  type ZkServerReply,
} from "@corral/protocol";
import { describe, expect, it } from "vitest";
import { CorralClient, ZkWireClient, WireProtocolError, packZkSecret, unpackZkSecret, type ByteStreamHandlers, type StreamConnector } from "../src/index.js";

const frame = (bytes: Uint8Array | Error): Uint8Array => {
  if (bytes instanceof Error) throw bytes;
  return frameZkPacket(bytes);
};
const stat = { czxid: 5n, mzxid: 6n, ctime: 1n, mtime: 2n, version: 1, cversion: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 2, numChildren: 0, pzxid: 5n };
const bigSession = 0x0100_0000_0000_002an; // above 2^53, as ZooKeeper's server ids make them
const password = new Uint8Array(16).fill(7);

function unframe(packets: Uint8Array[]): Uint8Array[] {
  const framer = new ZkPacketFramer();
  const out: Uint8Array[] = [];
  for (const packet of packets) {
    const result = framer.push(packet);
    if (isJuteError(result)) throw result;
    out.push(...result.packets);
  }
  return out;
}

function reply(xid: number, zxid: bigint, err: number, response: ZkServerReply extends infer R ? (R extends { kind: "reply" } ? R["response"] : never) : never): Uint8Array {
  return frame(encodeServerReply({ kind: "reply", header: { xid, zxid, err }, response }));
}

describe("ZkWireClient (pure adapter)", () => {
  it("opens with ConnectRequest, SetWatches2 and one AuthPacket per credential, as ClientCnxn does", () => {
    const wire = new ZkWireClient({ server: "s1:2181" });
    const packets = wire.encode({
      type: "connect",
      protocolVersion: 1,
      sessionId: null,
      secret: null,
      timeoutMs: 9_000,
      lastZxidSeen: 42,
      watches: { ...emptyWatchSet, data: ["/a"], persistentRecursive: ["/r"] },
      auth: [{ scheme: "digest", credentials: "alice:pw" }],
    });
    if (packets instanceof WireProtocolError) throw packets;
    const [connect, setWatches, auth] = unframe(packets);
    const request = decodeConnectRequest(connect!) as ZkConnectRequest;
    expect(request).toMatchObject({ protocolVersion: 0, lastZxidSeen: 42n, timeOut: 9_000, sessionId: 0n });
    const sw = decodeClientPacket(setWatches!) as ZkClientPacket;
    expect(sw.header.xid).toBe(ZkXid.setWatches);
    expect(sw.request).toMatchObject({ op: "setWatches2", relativeZxid: 42n, dataWatches: ["/a"], persistentRecursiveWatches: ["/r"] });
    const authPacket = decodeClientPacket(auth!) as ZkClientPacket;
    expect(authPacket.header.xid).toBe(ZkXid.auth);
    expect(authPacket.request).toMatchObject({ op: "auth", scheme: "digest" });
    expect(new TextDecoder().decode((authPacket.request as { auth: Uint8Array }).auth)).toBe("alice:pw");
  });

  it("keeps a 64-bit session id exact inside the secret and presents it again on a reconnect", () => {
    const first = new ZkWireClient({ server: "s1:2181" });
    first.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [] });
    const messages = first.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 6_000, sessionId: bigSession, passwd: password })));
    if (messages instanceof WireProtocolError) throw messages;
    expect(messages).toHaveLength(1);
    const connected = messages[0] as Extract<(typeof messages)[number], { type: "connected" }>;
    expect(connected).toMatchObject({ type: "connected", timeoutMs: 6_000, nodeId: "s1:2181" });
    expect(Number.isSafeInteger(connected.sessionId)).toBe(true);
    expect(unpackZkSecret(connected.secret)).toEqual({ sessionId: bigSession, passwd: password });
    expect(packZkSecret(bigSession, password)).toBe(connected.secret);

    const second = new ZkWireClient({ server: "s2:2181" });
    const packets = second.encode({ type: "connect", protocolVersion: 1, sessionId: connected.sessionId, secret: connected.secret, timeoutMs: 9_000, lastZxidSeen: 17, watches: emptyWatchSet, auth: [] });
    if (packets instanceof WireProtocolError) throw packets;
    expect(decodeConnectRequest(unframe(packets)[0]!)).toMatchObject({ sessionId: bigSession, passwd: password, lastZxidSeen: 17n });
  });

  it("reads timeOut 0 as an expired session", () => {
    const wire = new ZkWireClient({ server: "s1:2181" });
    wire.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [] });
    const messages = wire.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: new Uint8Array(16) })));
    expect(messages).toEqual([expect.objectContaining({ type: "connectFailed", code: ErrorCode.SessionExpired })]);
  });

  it("maps replies to the client's xids, exists' NoNode to a null stat, notifications to events and pings to pongs", () => {
    const wire = new ZkWireClient({ server: "s1:2181" });
    wire.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [] });
    wire.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 6_000, sessionId: 1n, passwd: password })));
    const sent = [
      ...(wire.encode({ type: "request", xid: 100, op: { type: "getData", path: "/a" } }) as Uint8Array[]),
      ...(wire.encode({ type: "request", xid: 101, op: { type: "exists", path: "/missing" } }) as Uint8Array[]),
    ];
    const [getData, exists] = unframe(sent).map((p) => decodeClientPacket(p) as ZkClientPacket);
    expect(getData!.request).toMatchObject({ op: "getData", path: "/a" });
    const bytes = [
      reply(getData!.header.xid, 6n, 0, { op: "getData", data: new TextEncoder().encode("hi"), stat }),
      frame(encodeServerReply({ kind: "notification", header: { xid: ZkXid.notification, zxid: -1n, err: 0 }, event: { type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: "/a" } })),
      reply(exists!.header.xid, 7n, ErrorCode.NoNode, null),
      reply(ZkXid.ping, 7n, 0, null),
    ];
    const joined = new Uint8Array(bytes.reduce((n, b) => n + b.byteLength, 0));
    let offset = 0;
    for (const b of bytes) {
      joined.set(b, offset);
      offset += b.byteLength;
    }
    // Split mid-packet: the framer reassembles.
    const first = wire.receive(joined.subarray(0, 13)) as unknown[];
    const rest = wire.receive(joined.subarray(13)) as unknown[];
    expect([...first, ...rest]).toEqual([
      { type: "response", xid: 100, zxid: 6, result: { type: "getData", data: new TextEncoder().encode("hi"), stat: expect.objectContaining({ version: 1, mzxid: 6 }) } },
      { type: "event", event: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path: "/a", zxid: 0 },
      { type: "response", xid: 101, zxid: 7, result: { type: "exists", stat: null } },
      { type: "pong", zxid: 7 },
    ]);
  });

  it("sends a linearizable read as a pipelined sync + read and answers only the read", () => {
    const wire = new ZkWireClient({ server: "s1:2181" });
    wire.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [] });
    wire.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 6_000, sessionId: 1n, passwd: password })));
    const packets = unframe(wire.encode({ type: "request", xid: 5, op: { type: "getData", path: "/a" }, linearizable: true }) as Uint8Array[]).map((p) => decodeClientPacket(p) as ZkClientPacket);
    expect(packets.map((p) => p.request.op)).toEqual(["sync", "getData"]);
    const messages = wire.receive(
      new Uint8Array([...reply(packets[0]!.header.xid, 9n, 0, { op: "sync", path: "/a" }), ...reply(packets[1]!.header.xid, 9n, 0, { op: "getData", data: null, stat })]),
    ) as { type: string; xid?: number }[];
    expect(messages.map((m) => [m.type, m.xid])).toEqual([["response", 5]]);
  });

  it("reports a refused connect-time credential as AuthFailed", () => {
    const wire = new ZkWireClient({ server: "s1:2181" });
    wire.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [{ scheme: "digest", credentials: "a:b" }] });
    wire.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 6_000, sessionId: 1n, passwd: password })));
    expect(wire.receive(reply(ZkXid.auth, 0n, ErrorCode.AuthFailed, null))).toEqual([expect.objectContaining({ type: "connectFailed", code: ErrorCode.AuthFailed })]);
  });

  it("drops the connection on garbage, an unknown xid or an over-long frame, and bounds requests in flight", () => {
    const connected = (): ZkWireClient => {
      const wire = new ZkWireClient({ server: "s1:2181", maxInFlight: 2 });
      wire.encode({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 9_000, lastZxidSeen: 0, watches: emptyWatchSet, auth: [] });
      wire.receive(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: 6_000, sessionId: 1n, passwd: password })));
      return wire;
    };
    expect(connected().receive(reply(77, 1n, 0, { op: "sync", path: "/" }))).toBeInstanceOf(WireProtocolError);
    expect(connected().receive(new Uint8Array([0x7f, 0xff, 0xff, 0xff]))).toBeInstanceOf(WireProtocolError);
    expect(connected().receive(new Uint8Array([0, 0, 0, 3, 1, 2, 3]))).toBeInstanceOf(WireProtocolError);
    const wire = connected();
    expect(wire.encode({ type: "request", xid: 1, op: { type: "getData", path: "/a" } })).toBeInstanceOf(Array);
    expect(wire.encode({ type: "request", xid: 2, op: { type: "getData", path: "/a" } })).toBeInstanceOf(Array);
    expect(wire.encode({ type: "request", xid: 3, op: { type: "getData", path: "/a" } })).toBeInstanceOf(WireProtocolError);
  });
});

/** A scripted ZooKeeper server per address, over in-memory streams. */
class FakeServers implements StreamConnector {
  readonly received = new Map<string, (ZkConnectRequest | ZkClientPacket)[]>();
  private readonly open = new Map<string, { handlers: ByteStreamHandlers; closed: boolean }>();
  constructor(private readonly answer: (address: string, packet: ZkClientPacket) => Uint8Array | undefined) {}

  connect(address: string, handlers: ByteStreamHandlers) {
    const framer = new ZkPacketFramer();
    const state = { handlers, closed: false };
    this.open.set(address, state);
    const log: (ZkConnectRequest | ZkClientPacket)[] = [];
    this.received.set(address, log);
    const send = (bytes: Uint8Array): void => queueMicrotask(() => !state.closed && handlers.onData(bytes));
    return {
      write: (bytes: Uint8Array): boolean => {
        if (state.closed) return false;
        const out = framer.push(bytes);
        if (isJuteError(out)) throw out;
        for (const packet of out.packets) {
          if (log.length === 0) {
            const connect = decodeConnectRequest(packet) as ZkConnectRequest;
            log.push(connect);
            send(frame(encodeConnectResponse({ protocolVersion: 0, timeOut: connect.timeOut, sessionId: connect.sessionId === 0n ? bigSession : connect.sessionId, passwd: password })));
            continue;
          }
          const request = decodeClientPacket(packet) as ZkClientPacket;
          log.push(request);
          const answer = this.answer(address, request);
          if (answer !== undefined) send(answer);
        }
        return true;
      },
      close: () => void (state.closed = true),
    };
  }

  /** The server side drops the connection. */
  drop(address: string): void {
    const state = this.open.get(address);
    if (state === undefined || state.closed) return;
    state.closed = true;
    state.handlers.onClose("dropped by the test");
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(scheduler: SimScheduler, done: () => boolean, maxMs = 10_000): Promise<void> {
  const end = scheduler.now() + maxMs;
  for (;;) {
    await flush();
    if (done()) return;
    if (scheduler.now() >= end) throw new Error("condition not reached in simulated time");
    scheduler.runFor(10);
  }
}

describe("CorralClient over ZooKeeper's wire", () => {
  it("fails calls in flight on a lost connection with ConnectionLoss, never re-sends them, and resumes the session elsewhere", async () => {
    const scheduler = new SimScheduler(7);
    // s1 answers nothing after the connect; s2 answers everything.
    const servers = new FakeServers((address, packet) => {
      if (address !== "s2:2181") return undefined;
      if (packet.request.op === "getData") return reply(packet.header.xid, 9n, ErrorCode.NoNode, null);
      if (packet.request.op === "closeSession") return reply(packet.header.xid, 10n, 0, null);
      return undefined;
    });
    let client: CorralClient | undefined;
    void CorralClient.connectWith({ streams: servers, clock: scheduler.clockFor("client"), random: new SeededRandom(1) }, { nodes: ["s1:2181", "s2:2181"], sessionTimeoutMs: 6_000 }).then((c) => (client = c));
    await until(scheduler, () => client !== undefined);
    const first = client!.nodeId!;
    let createOutcome: unknown;
    client!.create("/x", "v").then(
      (value) => (createOutcome = value),
      (error: unknown) => (createOutcome = error),
    );
    await until(scheduler, () => (servers.received.get(first) ?? []).some((p) => "request" in p && p.request.op === "create2"));
    servers.drop(first);
    await until(scheduler, () => createOutcome !== undefined);
    expect(createOutcome).toBeInstanceOf(ConnectionLossError);

    await until(scheduler, () => client!.state === "connected");
    const second = client!.nodeId!;
    expect(second).not.toBe(first);
    const resumed = servers.received.get(second)!;
    expect(resumed[0]).toMatchObject({ sessionId: bigSession, passwd: password });
    if (second === "s2:2181") {
      let readOutcome: unknown;
      client!.getData("/missing").catch((error: unknown) => (readOutcome = error));
      await until(scheduler, () => readOutcome !== undefined);
      expect(readOutcome).toBeInstanceOf(NoNodeError);
    }
    // The create was never sent again, on either server.
    const creates = [...servers.received.values()].flat().filter((p) => "request" in p && p.request.op === "create2");
    expect(creates).toHaveLength(1);
  });

  it("ends the client as expired when the server answers the resume with timeOut 0", async () => {
    const scheduler = new SimScheduler(8);
    let expire = false;
    const servers: StreamConnector = {
      connect(_address, handlers) {
        return {
          write(bytes) {
            const packets = new ZkPacketFramer().push(bytes);
            if (isJuteError(packets) || packets.packets.length === 0) return true;
            const connect = decodeConnectRequest(packets.packets[0]!);
            if (isJuteError(connect)) return true;
            const response = expire ? { protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: new Uint8Array(16) } : { protocolVersion: 0, timeOut: 6_000, sessionId: 5n, passwd: password };
            queueMicrotask(() => handlers.onData(frame(encodeConnectResponse(response))));
            if (!expire) {
              expire = true;
              queueMicrotask(() => handlers.onClose("server restarted"));
            }
            return true;
          },
          close() {},
        };
      },
    };
    let client: CorralClient | undefined;
    void CorralClient.connectWith({ streams: servers, clock: scheduler.clockFor("client"), random: new SeededRandom(2) }, { nodes: ["s1:2181"], sessionTimeoutMs: 6_000 }).then((c) => (client = c));
    await until(scheduler, () => client !== undefined);
    await until(scheduler, () => client!.state === "expired");
    await expect(client!.getData("/a")).rejects.toBeInstanceOf(SessionExpiredError);
  });
});
