import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  ActorSystem,
  ClusterKeyInvalid,
  ClusterKeyring,
  DecodeFailure,
  InMemoryNetwork,
  InvariantViolation,
  PeerAuth,
  PeerFrameRejected,
  SimScheduler,
  encodeActorFrame,
  encodeChannelWireFrame,
  formatClusterKeyLine,
  isSealedPeerFrame,
  nullLogger,
  openingFrameHandler,
  parseClusterKeyFile,
  sealingEndpoint,
  simulationKeyring,
  type Codec,
  type OpenedPeerFrame,
  type PeerAuthOptions,
  type PeerRejectReason,
} from "@corral/actors";

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const secret = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);
const k1 = { id: "k1", secret: secret(1) };
const k2 = { id: "k2", secret: secret(2) };
const members = ["n1", "n2", "n3"];

function auth(self: string, overrides: Partial<PeerAuthOptions> = {}): PeerAuth {
  return new PeerAuth({ self, cluster: "prod", members, keyring: new ClusterKeyring([k1]), epoch: 1, ...overrides });
}

function rejected(result: OpenedPeerFrame | PeerFrameRejected): PeerRejectReason | "accepted" {
  return result instanceof PeerFrameRejected ? result.reason : "accepted";
}

describe("peer frame authentication", () => {
  it("accepts a sealed frame from a member, with its sender, epoch, seq and payload", () => {
    const n1 = auth("n1", { epoch: 7 });
    const n2 = auth("n2");
    const payload = bytes('{"v":1,"k":"a"}');
    const sealed = n1.seal("n2", payload);
    expect(isSealedPeerFrame(sealed)).toBe(true);
    expect(isSealedPeerFrame(payload)).toBe(false);
    const opened = n2.open(sealed);
    expect(opened).toMatchObject({ sender: "n1", epoch: 7, seq: 1 });
    expect(Buffer.from((opened as OpenedPeerFrame).payload).toString()).toBe('{"v":1,"k":"a"}');
    expect(rejected(n2.open(n1.seal("n2", payload)))).toBe("accepted");
    expect(n2.stats()).toMatchObject({ framesVerified: 2, rejectedBadMac: 0 });
    expect(n1.stats().framesSealed).toBe(2);
  });

  it("rejects every single flipped bit; a flip in the MAC or the payload is a bad MAC", () => {
    const n1 = auth("n1");
    const payload = bytes('{"body":"abc"}');
    const reference = n1.seal("n2", payload);
    const macStart = reference.length - payload.length - 32;
    for (let index = 0; index < reference.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const n2 = auth("n2");
        const copy = new Uint8Array(reference);
        copy[index]! ^= 1 << bit;
        const reason = rejected(n2.open(copy));
        expect(reason, `byte ${index} bit ${bit}`).not.toBe("accepted");
        if (index >= macStart) expect(reason, `byte ${index} bit ${bit}`).toBe("badMac");
        // Epoch and seq: a bad MAC, or malformed when the flip makes one zero or the seq 2^53 or more.
        else if (index >= macStart - 12) expect(["badMac", "malformed"], `byte ${index} bit ${bit}`).toContain(reason);
      }
    }
  });

  it("rejects a wrong key, an unknown key id and a non-member sender, counting each", () => {
    const n2 = auth("n2");
    const wrongKey = auth("n1", { keyring: new ClusterKeyring([{ id: "k1", secret: secret(9) }]) });
    const unknownId = auth("n1", { keyring: new ClusterKeyring([{ id: "k9", secret: secret(1) }]) });
    // Holds the real key but is not a member of n2's ensemble.
    const outsider = new PeerAuth({ self: "evil", cluster: "prod", members: ["evil", "n2"], keyring: new ClusterKeyring([k1]), epoch: 1 });
    expect(rejected(n2.open(wrongKey.seal("n2", bytes("{}"))))).toBe("badMac");
    expect(rejected(n2.open(unknownId.seal("n2", bytes("{}"))))).toBe("unknownKeyId");
    expect(rejected(n2.open(outsider.seal("n2", bytes("{}"))))).toBe("nonMember");
    // A frame claiming to come from the receiver itself is as foreign as a non-member.
    const self = new PeerAuth({ self: "n2", cluster: "prod", members, keyring: new ClusterKeyring([k1]), epoch: 1 });
    const mirror = auth("n1").seal("n2", bytes("{}"));
    // Header: magic, version, 2, "k1", 2, "n1": the sender's last character is byte 7.
    mirror[7] = "2".charCodeAt(0);
    expect(rejected(self.open(mirror))).toBe("nonMember");
    expect(n2.stats()).toMatchObject({ rejectedBadMac: 1, rejectedUnknownKeyId: 1, rejectedNonMember: 1, framesVerified: 0 });
  });

  it("rejects a replayed frame, a seq below the window, and accepts reordering within it", () => {
    const n1 = auth("n1");
    const n2 = auth("n2", { replayWindow: 64 });
    const frames = Array.from({ length: 200 }, (_, i) => n1.seal("n2", bytes(`{"i":${i}}`)));
    expect(rejected(n2.open(frames[0]!))).toBe("accepted");
    expect(rejected(n2.open(frames[0]!))).toBe("replay");
    expect(rejected(n2.open(frames[5]!))).toBe("accepted");
    // Arriving late but within the window: accepted once.
    expect(rejected(n2.open(frames[2]!))).toBe("accepted");
    expect(rejected(n2.open(frames[2]!))).toBe("replay");
    expect(rejected(n2.open(frames[150]!))).toBe("accepted");
    // seq 87 is 64 below the top (151): out of the window, refused even though never seen.
    expect(rejected(n2.open(frames[86]!))).toBe("replay");
    expect(rejected(n2.open(frames[87]!))).toBe("accepted");
    expect(rejected(n2.open(frames[199]!))).toBe("accepted");
    // Top is now seq 200: seqs 1..136 are below the window, all refused.
    for (const frame of frames.slice(0, 136)) expect(rejected(n2.open(frame))).toBe("replay");
    expect(n2.stats().rejectedReplay).toBe(139);
  });

  it("rejects frames of an older incarnation once a newer one has been seen", () => {
    const old = auth("n1", { epoch: 4 });
    const oldFrames = [old.seal("n2", bytes("{}")), old.seal("n2", bytes("{}"))];
    const restarted = auth("n1", { epoch: 5 });
    const n2 = auth("n2");
    expect(rejected(n2.open(oldFrames[0]!))).toBe("accepted");
    // The restarted sender counts seqs from 1 again: a new epoch, so not a replay.
    expect(rejected(n2.open(restarted.seal("n2", bytes("{}"))))).toBe("accepted");
    expect(rejected(n2.open(oldFrames[1]!))).toBe("staleEpoch");
    expect(rejected(n2.open(oldFrames[0]!))).toBe("staleEpoch");
    expect(n2.stats().rejectedStaleEpoch).toBe(2);
  });

  it("binds the cluster and the receiver: a frame copied to another cluster or another node does not verify, even under the same key", () => {
    const otherCluster = new PeerAuth({ self: "n1", cluster: "staging", members, keyring: new ClusterKeyring([k1]), epoch: 1 });
    const n2 = auth("n2");
    expect(rejected(n2.open(otherCluster.seal("n2", bytes("{}"))))).toBe("badMac");
    const toN3 = auth("n1").seal("n3", bytes("{}"));
    expect(rejected(n2.open(toN3))).toBe("badMac");
    expect(rejected(auth("n3").open(toN3))).toBe("accepted");
  });

  it("rotates keys without downtime: accept the new key, then sign with it, then drop the old one", () => {
    const n1 = auth("n1");
    const n2 = auth("n2");
    // Step 1: both accept k2; k1 still signs.
    n1.setKeyring(new ClusterKeyring([k1, k2]));
    n2.setKeyring(new ClusterKeyring([k1, k2]));
    expect(rejected(n2.open(n1.seal("n2", bytes("{}"))))).toBe("accepted");
    // Step 2: n1 signs with k2 first; n2 (still signing k1) and n1 accept both.
    n1.setKeyring(new ClusterKeyring([k2, k1]));
    const byK2 = n1.seal("n2", bytes("{}"));
    expect(rejected(n2.open(byK2))).toBe("accepted");
    expect(rejected(n1.open(n2.seal("n1", bytes("{}"))))).toBe("accepted");
    // Step 3: k1 gone; its frames are refused.
    n2.setKeyring(new ClusterKeyring([k2]));
    expect(rejected(n2.open(n1.seal("n2", bytes("{}"))))).toBe("accepted");
    expect(rejected(n2.open(auth("n3").seal("n2", bytes("{}"))))).toBe("unknownKeyId");
  });

  it("never throws on garbage, and garbage never verifies", () => {
    const n2 = auth("n2");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (input, magic) => {
        const frame = new Uint8Array(input);
        if (magic && frame.length > 1) {
          frame[0] = 0xa5;
          frame[1] = 1;
        }
        expect(n2.open(frame)).toBeInstanceOf(PeerFrameRejected);
      }),
      { numRuns: 3000 },
    );
    // Truncations of a real frame: each refused.
    const sealed = auth("n1").seal("n2", bytes('{"x":1}'));
    for (let length = 0; length < sealed.length; length++) expect(n2.open(sealed.subarray(0, length))).toBeInstanceOf(PeerFrameRejected);
    expect(n2.stats().framesVerified).toBe(0);
  });

  it("refuses bad options and sealing for a non-member as programming errors", () => {
    expect(() => auth("n1", { epoch: 0 })).toThrow(InvariantViolation);
    expect(() => auth("n1", { epoch: 2 ** 32 })).toThrow(InvariantViolation);
    expect(() => auth("n1", { replayWindow: 100 })).toThrow(InvariantViolation);
    expect(() => auth("n9")).toThrow(InvariantViolation);
    expect(() => auth("n1").seal("c-client", bytes("{}"))).toThrow(InvariantViolation);
  });
});

describe("cluster keys", () => {
  it("parses key files: first key signs, comments and blank lines ignored", () => {
    const text = `# rotated 2026-01\n\n${formatClusterKeyLine(k2)}\n${formatClusterKeyLine(k1)}\n`;
    const keyring = parseClusterKeyFile(text);
    expect(keyring).toBeInstanceOf(ClusterKeyring);
    expect((keyring as ClusterKeyring).signingKeyId).toBe("k2");
    expect((keyring as ClusterKeyring).keyIds).toEqual(["k2", "k1"]);
  });

  it("refuses bad key files with the line at fault", () => {
    const line = (id: string, key: Uint8Array): string => `${id}:${Buffer.from(key).toString("base64")}`;
    const problem = (text: string): [number | undefined, string] => {
      const result = parseClusterKeyFile(text);
      expect(result).toBeInstanceOf(ClusterKeyInvalid);
      return [(result as ClusterKeyInvalid).line, (result as ClusterKeyInvalid).code];
    };
    expect(problem("")).toEqual([undefined, "CLUSTER_KEY_INVALID"]);
    expect(problem("# only a comment\n")[0]).toBeUndefined();
    expect(problem("no-colon-here")[0]).toBe(1);
    expect(problem(`${line("k1", secret(1))}\n${line("k1", secret(2))}`)[0]).toBe(2);
    expect(problem(line("k1", new Uint8Array(16)))[0]).toBe(1);
    expect(problem(line("k1", new Uint8Array(65)))[0]).toBe(1);
    expect(problem(line("bad id", secret(1)))[0]).toBe(1);
    expect(problem("k1:not base64!")[0]).toBe(1);
    expect(problem(`k1:${Buffer.from(secret(1)).toString("base64").slice(0, -1)}`)[0]).toBe(1);
    expect(problem(Array.from({ length: 17 }, (_, i) => line(`k${i}`, secret(i))).join("\n"))[0]).toBe(17);
    expect(() => new ClusterKeyring([])).toThrow(ClusterKeyInvalid);
  });

  it("derives the same simulation key from the same seed, and another from another seed", () => {
    const frame = new PeerAuth({ self: "n1", cluster: "c", members: ["n1", "n2"], keyring: simulationKeyring(7), epoch: 1 }).seal("n2", bytes("{}"));
    const open = (seed: number): string => rejected(new PeerAuth({ self: "n2", cluster: "c", members: ["n1", "n2"], keyring: simulationKeyring(seed), epoch: 1 }).open(frame));
    expect(open(7)).toBe("accepted");
    expect(open(8)).toBe("badMac");
  });
});

describe("a node's endpoint with peer authentication", () => {
  type Ping = { readonly n: number };
  const pingCodec: Codec<Ping> = {
    encode: (m) => ({ n: m.n }),
    decode: (u) => (typeof u === "object" && u !== null && typeof (u as { n?: unknown }).n === "number" ? { n: (u as { n: number }).n } : new DecodeFailure("not a ping")),
  };

  function node(sim: SimScheduler, memory: InMemoryNetwork, id: string, received: string[], channel: string[]): { system: ActorSystem; auth: PeerAuth } {
    const system = new ActorSystem({
      nodeId: id,
      clock: sim.clockFor(id),
      random: sim.random.fork(id),
      logger: nullLogger,
      executor: sim.schedule,
      codecs: new Map([["sink", pingCodec as Codec<unknown>]]),
      clusterTag: "prod",
      onChannelFrame: (from) => void channel.push(from),
    });
    const peerAuth = new PeerAuth({ self: id, cluster: "prod", members: ["n1", "n2"], keyring: new ClusterKeyring([k1]), epoch: 1 });
    const raw = memory.openSync(id, openingFrameHandler(peerAuth, system.handleFrame));
    system.attachEndpoint(sealingEndpoint(raw, peerAuth));
    system.spawn<Ping>("sink", { receive: (_context, message, from) => void received.push(`${message.n} from ${from?.node}`) });
    return { system, auth: peerAuth };
  }

  it("delivers sealed actor frames between members, refuses unsealed actor frames, admits unsealed channel traffic", () => {
    const sim = new SimScheduler(3);
    const memory = new InMemoryNetwork(sim);
    const got1: string[] = [];
    const got2: string[] = [];
    const channel2: string[] = [];
    const n1 = node(sim, memory, "n1", got1, []);
    const n2 = node(sim, memory, "n2", got2, channel2);
    n1.system.tell({ node: "n2", actor: "sink" }, { n: 1 });
    const attacker = memory.openSync("c-attacker", () => undefined);
    const forged = encodeActorFrame("sink", { node: "n1", actor: "x" }, { n: 666 }, { clusterTag: "prod" }) as Uint8Array;
    // Unsealed actor frame, from a client endpoint: refused after decoding the envelope, before the body.
    attacker.send("n2", forged);
    // Client channel traffic is still admitted, unauthenticated.
    attacker.send("n2", encodeChannelWireFrame({ hello: 1 }, { clusterTag: "prod" }) as Uint8Array);
    sim.runFor(50);
    expect(got2).toEqual(["1 from n1"]);
    expect(channel2).toEqual(["c-attacker"]);
    expect(n2.system.stats()).toMatchObject({ framesUnauthenticated: 1, channelFrames: 1 });
    expect(n2.auth.stats()).toMatchObject({ framesVerified: 1, rejectedUnauthenticatedFromMember: 0 });
    expect(got1).toEqual([]);
  });

  it("refuses an unsealed frame whose transport sender names a member, and a sealed frame whose inner sender differs from the sealed one", () => {
    const n2 = auth("n2");
    const delivered: [string, boolean][] = [];
    const handler = openingFrameHandler(n2, (from, _bytes, authenticated) => void delivered.push([from, authenticated]));
    handler("n1", encodeChannelWireFrame({}, { clusterTag: "prod" }) as Uint8Array);
    handler("c-1", encodeChannelWireFrame({}, { clusterTag: "prod" }) as Uint8Array);
    // The transport's sender field is ignored for sealed frames: the sealed sender is what counts.
    handler("c-1", auth("n1").seal("n2", bytes("{}")));
    expect(delivered).toEqual([
      ["c-1", false],
      ["n1", true],
    ]);
    expect(n2.stats().rejectedUnauthenticatedFromMember).toBe(1);

    // Inside a verified frame from n3, an envelope claiming n1 is spoofed.
    const sim = new SimScheduler(4);
    const system = new ActorSystem({ nodeId: "n2", clock: sim.clockFor("n2"), random: sim.random, logger: nullLogger, executor: sim.schedule, codecs: new Map([["sink", pingCodec as Codec<unknown>]]), clusterTag: "prod" });
    const got: number[] = [];
    system.spawn<Ping>("sink", { receive: (_context, message) => void got.push(message.n) });
    const deliver = openingFrameHandler(auth("n2"), system.handleFrame);
    const n3 = auth("n3");
    deliver("n3", n3.seal("n2", encodeActorFrame("sink", { node: "n1", actor: "x" }, { n: 5 }, { clusterTag: "prod" }) as Uint8Array));
    deliver("n3", n3.seal("n2", encodeActorFrame("sink", { node: "n3", actor: "x" }, { n: 6 }, { clusterTag: "prod" }) as Uint8Array));
    sim.runFor(5);
    expect(got).toEqual([6]);
    expect(system.stats().framesSpoofed).toBe(1);
  });
});
