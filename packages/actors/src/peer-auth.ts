import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { InvariantViolation, invariant } from "./errors.js";
import type { EndpointId, FrameHandler, NetworkEndpoint } from "./network.js";

/**
 * The authenticated peer plane (DESIGN.md §4, §12). Whoever can write to
 * Redis can put any bytes in any node's inbox and name any sender; so every
 * node-to-node frame is sealed with an HMAC-SHA256 under the cluster key, and
 * the receiver checks it before it decodes a single byte of JSON.
 *
 * A sealed frame is a binary header in front of the unchanged inner frame:
 *
 *   0xA5  version(1)  keyIdLength(1) keyId  senderLength(1) sender
 *   epoch(u32 BE)  seq(u64 BE, < 2^53)  mac(32)  payload...
 *
 *   mac = HMAC-SHA256(key, "corral-peer-v1" 0 cluster 0 receiver 0 || header before mac || payload)
 *
 * The first byte 0xA5 is a UTF-8 continuation byte, so no JSON (unsealed)
 * frame can start with it. The MAC binds the cluster name and the receiver,
 * so a frame copied into another node's inbox or another cluster's stream
 * does not verify even under the same key. `epoch` is the sender's
 * incarnation (persisted and incremented at each start, given by the harness
 * in simulation), `seq` counts the frames sent to that receiver in that
 * incarnation (from 1). The receiver keeps, per member, the highest epoch
 * seen and a sliding window of `replayWindow` seqs: an older epoch, a seq at
 * or below the window or one already seen is a replay.
 *
 * Pure and deterministic: no clock, no randomness (HMAC is a function), so
 * it runs unchanged in simulation. Every bound is explicit below.
 */

export const PEER_FRAME_MAGIC = 0xa5;
export const PEER_FRAME_VERSION = 1;
export const PEER_MAC_BYTES = 32;
export const MAX_KEY_ID_LENGTH = 32;
/** Longest sender id a sealed frame may carry (node ids are at most 64 characters). */
export const MAX_PEER_ID_LENGTH = 64;
export const MIN_CLUSTER_KEY_BYTES = 32;
export const MAX_CLUSTER_KEY_BYTES = 64;
/** Keys one keyring (one key file) may hold: the signing key plus those still accepted during a rotation. */
export const MAX_CLUSTER_KEYS = 16;
export const MAX_CLUSTER_KEY_FILE_BYTES = 64 * 1024;
/** Incarnation epochs are u32 (epoch seconds fit until 2106). */
export const MAX_PEER_EPOCH = 0xffff_ffff;
export const MAX_PEER_SEQ = Number.MAX_SAFE_INTEGER;
export const DEFAULT_REPLAY_WINDOW = 1024;
export const MAX_REPLAY_WINDOW = 65_536;
/** The most bytes sealing adds in front of a frame (magic, version, two length bytes, ids, epoch, seq, mac). */
export const MAX_PEER_HEADER_BYTES = 4 + MAX_KEY_ID_LENGTH + MAX_PEER_ID_LENGTH + 4 + 8 + PEER_MAC_BYTES;
/** Header bytes with one-character ids: anything shorter is malformed. */
const MIN_SEALED_BYTES = 4 + 1 + 1 + 4 + 8 + PEER_MAC_BYTES;

const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const PEER_ID = /^[\x21-\x7e]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DOMAIN = "corral-peer-v1";

// ------------------------------------------------------------------ keys --

/** One cluster key: an id (sent in the clear, so receivers know which key to try) and the secret. */
export interface ClusterKey {
  readonly id: string;
  readonly secret: Uint8Array;
}

/** A key file or key list that cannot be used. `line` is 1-based, when the problem is on one line. */
export class ClusterKeyInvalid extends Error {
  readonly _tag = "ClusterKeyInvalid";
  readonly code = "CLUSTER_KEY_INVALID";
  constructor(
    readonly reason: string,
    readonly line?: number,
  ) {
    super(line === undefined ? `cluster key: ${reason}` : `cluster key file line ${line}: ${reason}`);
    this.name = "ClusterKeyInvalid";
  }
}

interface LoadedKey {
  readonly id: string;
  readonly hmacKey: KeyObject;
}

/**
 * The keys of a cluster: the first signs, all verify. Rotation without
 * downtime: add the new key as a later line on every node, then make it the
 * first, then drop the old one (docs/security.md).
 */
export class ClusterKeyring {
  readonly signingKeyId: string;
  readonly keyIds: readonly string[];
  private readonly byId = new Map<string, LoadedKey>();

  /** Throws ClusterKeyInvalid: no keys, too many, bad or duplicate id, secret shorter than 32 or longer than 64 bytes. */
  constructor(keys: readonly ClusterKey[]) {
    if (keys.length === 0) throw new ClusterKeyInvalid("no keys");
    if (keys.length > MAX_CLUSTER_KEYS) throw new ClusterKeyInvalid(`more than ${MAX_CLUSTER_KEYS} keys`);
    keys.forEach((key, index) => {
      if (!KEY_ID.test(key.id)) throw new ClusterKeyInvalid(`key id "${key.id}" must be 1-${MAX_KEY_ID_LENGTH} characters of [A-Za-z0-9_.-]`, index + 1);
      if (this.byId.has(key.id)) throw new ClusterKeyInvalid(`duplicate key id "${key.id}"`, index + 1);
      if (key.secret.length < MIN_CLUSTER_KEY_BYTES || key.secret.length > MAX_CLUSTER_KEY_BYTES) {
        throw new ClusterKeyInvalid(`key "${key.id}" has ${key.secret.length} bytes; expected ${MIN_CLUSTER_KEY_BYTES}-${MAX_CLUSTER_KEY_BYTES}`, index + 1);
      }
      this.byId.set(key.id, { id: key.id, hmacKey: createSecretKey(Buffer.from(key.secret)) });
    });
    this.signingKeyId = keys[0]!.id;
    this.keyIds = keys.map((key) => key.id);
  }

  /** @internal */
  key(id: string): LoadedKey | undefined {
    return this.byId.get(id);
  }
}

/**
 * Parse a key file: one `keyId:base64key` a line, the first signing; blank
 * lines and lines starting with `#` are ignored. Never throws.
 */
export function parseClusterKeyFile(text: string): ClusterKeyring | ClusterKeyInvalid {
  if (text.length > MAX_CLUSTER_KEY_FILE_BYTES) return new ClusterKeyInvalid(`larger than ${MAX_CLUSTER_KEY_FILE_BYTES} bytes`);
  const keys: ClusterKey[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon < 0) return new ClusterKeyInvalid("expected keyId:base64key", index + 1);
    const id = line.slice(0, colon);
    const encoded = line.slice(colon + 1);
    if (!KEY_ID.test(id)) return new ClusterKeyInvalid(`key id must be 1-${MAX_KEY_ID_LENGTH} characters of [A-Za-z0-9_.-]`, index + 1);
    if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return new ClusterKeyInvalid("the key is not padded base64 (generate one with `openssl rand -base64 32`)", index + 1);
    const secret = new Uint8Array(Buffer.from(encoded, "base64"));
    if (Buffer.from(secret).toString("base64") !== encoded) return new ClusterKeyInvalid("the key is not canonical base64", index + 1);
    if (secret.length < MIN_CLUSTER_KEY_BYTES || secret.length > MAX_CLUSTER_KEY_BYTES) {
      return new ClusterKeyInvalid(`the key has ${secret.length} bytes; expected ${MIN_CLUSTER_KEY_BYTES}-${MAX_CLUSTER_KEY_BYTES}`, index + 1);
    }
    if (keys.some((key) => key.id === id)) return new ClusterKeyInvalid(`duplicate key id "${id}"`, index + 1);
    if (keys.length >= MAX_CLUSTER_KEYS) return new ClusterKeyInvalid(`more than ${MAX_CLUSTER_KEYS} keys`, index + 1);
    keys.push({ id, secret });
  }
  if (keys.length === 0) return new ClusterKeyInvalid("no keys (expected lines of keyId:base64key)");
  try {
    return new ClusterKeyring(keys);
  } catch (error) {
    if (error instanceof ClusterKeyInvalid) return error;
    throw error;
  }
}

/** A key file line for this key. */
export function formatClusterKeyLine(key: ClusterKey): string {
  return `${key.id}:${Buffer.from(key.secret).toString("base64")}`;
}

/** A key id derived from the secret ("k" + 8 hex digits of its SHA-256): needs no clock and names the key stably. */
export function clusterKeyIdFor(secret: Uint8Array): string {
  return `k${createHash("sha256").update(secret).digest("hex").slice(0, 8)}`;
}

/**
 * A keyring derived from a seed, for simulations and tests that configure no
 * key file: deterministic, so a run replays; never for a live ensemble.
 */
export function simulationKeyring(seed: number | string, keyId = "sim"): ClusterKeyring {
  const secret = createHash("sha256").update(`corral-simulation-cluster-key\u0000${String(seed)}`).digest();
  return new ClusterKeyring([{ id: keyId, secret: new Uint8Array(secret) }]);
}

// -------------------------------------------------------------- rejection --

export type PeerRejectReason = "malformed" | "unknownKeyId" | "nonMember" | "badMac" | "staleEpoch" | "replay";

const REJECT_CODES = {
  malformed: "PEER_FRAME_MALFORMED",
  unknownKeyId: "PEER_UNKNOWN_KEY_ID",
  nonMember: "PEER_NON_MEMBER",
  badMac: "PEER_BAD_MAC",
  staleEpoch: "PEER_STALE_EPOCH",
  replay: "PEER_REPLAY",
} as const satisfies Record<PeerRejectReason, string>;

/** Why a sealed frame was refused (returned, never thrown: input from the network). */
export class PeerFrameRejected {
  readonly _tag = "PeerFrameRejected";
  readonly code: (typeof REJECT_CODES)[PeerRejectReason];
  constructor(
    readonly reason: PeerRejectReason,
    /** The claimed sender, when the header could be read (not authenticated unless the reason is staleEpoch or replay). */
    readonly sender: string | undefined,
  ) {
    this.code = REJECT_CODES[reason];
  }
}

export interface OpenedPeerFrame {
  /** The authenticated sender: a configured member other than this node. */
  readonly sender: string;
  readonly epoch: number;
  readonly seq: number;
  /** The inner frame (a view into the sealed bytes, not a copy). */
  readonly payload: Uint8Array;
}

export interface PeerAuthStats {
  framesSealed: number;
  framesVerified: number;
  /** Sealed frames refused, by reason. */
  rejectedMalformed: number;
  rejectedUnknownKeyId: number;
  rejectedNonMember: number;
  rejectedBadMac: number;
  rejectedStaleEpoch: number;
  rejectedReplay: number;
  /** Unsealed frames whose transport sender is a member's id: members always seal, so it is someone else. */
  rejectedUnauthenticatedFromMember: number;
}

// ----------------------------------------------------------------- replay --

/** The replay state of one member: its newest epoch and the seqs seen at the top of it (a bitmap of `size` bits). */
class ReplayWindow {
  epoch = 0;
  top = 0;
  private readonly bits: Uint32Array;
  constructor(private readonly size: number) {
    this.bits = new Uint32Array(size / 32);
  }

  private bit(seq: number): [number, number] {
    const slot = seq % this.size;
    return [slot >>> 5, 1 << (slot & 31)];
  }

  /** Accept (and remember) or refuse one authenticated (epoch, seq). */
  admit(epoch: number, seq: number): "ok" | "staleEpoch" | "replay" {
    if (epoch < this.epoch) return "staleEpoch";
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.top = 0;
      this.bits.fill(0);
    }
    if (seq > this.top) {
      if (seq - this.top >= this.size) this.bits.fill(0);
      else {
        // Bounded by the window size: clear the slots the window slides over.
        for (let skipped = this.top + 1; skipped < seq; skipped++) {
          const [word, mask] = this.bit(skipped);
          this.bits[word]! &= ~mask;
        }
      }
      const [word, mask] = this.bit(seq);
      this.bits[word]! |= mask;
      this.top = seq;
      return "ok";
    }
    if (this.top - seq >= this.size) return "replay";
    const [word, mask] = this.bit(seq);
    if ((this.bits[word]! & mask) !== 0) return "replay";
    this.bits[word]! |= mask;
    return "ok";
  }
}

// ------------------------------------------------------------------- auth --

export interface PeerAuthOptions {
  /** This node's id: the receiver bound into the MAC of frames it accepts. */
  readonly self: string;
  /** The cluster name, bound into every MAC. */
  readonly cluster: string;
  /** Every member's id (this node's included): only these may send sealed frames, and only to these are frames sealed. */
  readonly members: readonly string[];
  readonly keyring: ClusterKeyring;
  /** This process's incarnation epoch, 1 ≤ epoch ≤ 2^32-1, greater than any earlier run's. */
  readonly epoch: number;
  /** Seqs remembered per member (a multiple of 32, 32..65,536; default 1,024). */
  readonly replayWindow?: number;
}

const encoder = new TextEncoder();

function contextPrefix(cluster: string, receiver: string): Buffer {
  return Buffer.from(encoder.encode(`${DOMAIN}\u0000${cluster}\u0000${receiver}\u0000`));
}

/** Printable ASCII (0x21-0x7e) from `bytes[start, start+length)`, or undefined. */
function asciiName(bytes: Uint8Array, start: number, length: number): string | undefined {
  let out = "";
  for (let i = start; i < start + length; i++) {
    const byte = bytes[i]!;
    if (byte < 0x21 || byte > 0x7e) return undefined;
    out += String.fromCharCode(byte);
  }
  return out;
}

function asView(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
}

/** Whether a frame is sealed (starts with the peer magic). Unsealed frames are JSON and start with `{`. */
export function isSealedPeerFrame(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === PEER_FRAME_MAGIC;
}

export class PeerAuth {
  readonly self: string;
  readonly epoch: number;
  private keyring: ClusterKeyring;
  private readonly members: ReadonlySet<string>;
  private readonly ownPrefix: Buffer;
  private readonly prefixes = new Map<string, Buffer>();
  private readonly nextSeq = new Map<string, number>();
  private readonly windows = new Map<string, ReplayWindow>();
  private readonly replayWindow: number;
  private readonly senderHeader: Buffer;
  private readonly counters: PeerAuthStats = {
    framesSealed: 0,
    framesVerified: 0,
    rejectedMalformed: 0,
    rejectedUnknownKeyId: 0,
    rejectedNonMember: 0,
    rejectedBadMac: 0,
    rejectedStaleEpoch: 0,
    rejectedReplay: 0,
    rejectedUnauthenticatedFromMember: 0,
  };

  constructor(options: PeerAuthOptions) {
    invariant(Number.isInteger(options.epoch) && options.epoch >= 1 && options.epoch <= MAX_PEER_EPOCH, `incarnation epoch must be an integer in [1, ${MAX_PEER_EPOCH}], got ${options.epoch}`);
    const window = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    invariant(Number.isInteger(window) && window >= 32 && window <= MAX_REPLAY_WINDOW && window % 32 === 0, `replayWindow must be a multiple of 32 in [32, ${MAX_REPLAY_WINDOW}], got ${window}`);
    invariant(options.members.includes(options.self), `members must include this node (${options.self})`);
    for (const member of options.members) invariant(PEER_ID.test(member), `member id "${member}" must be 1-${MAX_PEER_ID_LENGTH} printable ASCII characters`);
    this.self = options.self;
    this.epoch = options.epoch;
    this.keyring = options.keyring;
    this.members = new Set(options.members);
    this.replayWindow = window;
    this.ownPrefix = contextPrefix(options.cluster, options.self);
    for (const member of options.members) {
      if (member === options.self) continue;
      this.prefixes.set(member, contextPrefix(options.cluster, member));
      this.nextSeq.set(member, 0);
      this.windows.set(member, new ReplayWindow(window));
    }
    const selfBytes = encoder.encode(options.self);
    this.senderHeader = Buffer.alloc(1 + selfBytes.length);
    this.senderHeader[0] = selfBytes.length;
    this.senderHeader.set(selfBytes, 1);
  }

  /** Whether `id` is a member this node talks to (frames to it are sealed). */
  isPeer(id: string): boolean {
    return this.prefixes.has(id);
  }

  /** The id of the key frames are sealed with now. */
  get signingKeyId(): string {
    return this.keyring.signingKeyId;
  }

  /** Swap the keys (a rotation step, e.g. on SIGHUP). Replay state is kept. */
  setKeyring(keyring: ClusterKeyring): void {
    this.keyring = keyring;
  }

  stats(): PeerAuthStats {
    return { ...this.counters };
  }

  /** Seal a frame for member `to` with the signing key. Throws InvariantViolation for a non-member (a programming error). */
  seal(to: EndpointId, payload: Uint8Array): Uint8Array {
    const prefix = this.prefixes.get(to);
    if (prefix === undefined) throw new InvariantViolation(`peer-auth: ${to} is not a peer of ${this.self}`);
    const seq = this.nextSeq.get(to)! + 1;
    invariant(seq <= MAX_PEER_SEQ, "peer-auth: sequence numbers exhausted");
    this.nextSeq.set(to, seq);
    const keyId = this.keyring.signingKeyId;
    const key = this.keyring.key(keyId)!;
    const headerLength = 2 + 1 + keyId.length + this.senderHeader.length + 4 + 8;
    const out = Buffer.allocUnsafe(headerLength + PEER_MAC_BYTES + payload.length);
    let offset = 0;
    out[offset++] = PEER_FRAME_MAGIC;
    out[offset++] = PEER_FRAME_VERSION;
    out[offset++] = keyId.length;
    offset += out.write(keyId, offset, "latin1");
    offset += this.senderHeader.copy(out, offset);
    offset = out.writeUInt32BE(this.epoch, offset);
    offset = out.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), offset);
    offset = out.writeUInt32BE(seq >>> 0, offset);
    out.set(payload, headerLength + PEER_MAC_BYTES);
    const mac = createHmac("sha256", key.hmacKey).update(prefix).update(out.subarray(0, headerLength)).update(out.subarray(headerLength + PEER_MAC_BYTES)).digest();
    mac.copy(out, headerLength);
    this.counters.framesSealed++;
    return out;
  }

  /**
   * Check a sealed frame: header shape, member, key id, MAC (constant time),
   * then epoch and replay window. Never throws; a refusal is counted.
   */
  open(bytes: Uint8Array): OpenedPeerFrame | PeerFrameRejected {
    const result = this.check(bytes);
    if (result instanceof PeerFrameRejected) {
      switch (result.reason) {
        case "malformed":
          this.counters.rejectedMalformed++;
          break;
        case "unknownKeyId":
          this.counters.rejectedUnknownKeyId++;
          break;
        case "nonMember":
          this.counters.rejectedNonMember++;
          break;
        case "badMac":
          this.counters.rejectedBadMac++;
          break;
        case "staleEpoch":
          this.counters.rejectedStaleEpoch++;
          break;
        case "replay":
          this.counters.rejectedReplay++;
          break;
      }
    } else {
      this.counters.framesVerified++;
    }
    return result;
  }

  /** An unsealed frame arrived from transport sender `from`: admissible (as unauthenticated channel traffic) unless `from` names a member. Counts refusals. */
  admitUnsealed(from: EndpointId): boolean {
    if (!this.members.has(from)) return true;
    this.counters.rejectedUnauthenticatedFromMember++;
    return false;
  }

  private check(bytes: Uint8Array): OpenedPeerFrame | PeerFrameRejected {
    const length = bytes.length;
    if (length < MIN_SEALED_BYTES || bytes[0] !== PEER_FRAME_MAGIC || bytes[1] !== PEER_FRAME_VERSION) return new PeerFrameRejected("malformed", undefined);
    let offset = 2;
    const keyIdLength = bytes[offset++]!;
    if (keyIdLength < 1 || keyIdLength > MAX_KEY_ID_LENGTH || offset + keyIdLength >= length) return new PeerFrameRejected("malformed", undefined);
    const keyId = asciiName(bytes, offset, keyIdLength);
    offset += keyIdLength;
    const senderLength = bytes[offset++]!;
    if (keyId === undefined || senderLength < 1 || senderLength > MAX_PEER_ID_LENGTH || offset + senderLength + 12 + PEER_MAC_BYTES > length) {
      return new PeerFrameRejected("malformed", undefined);
    }
    const sender = asciiName(bytes, offset, senderLength);
    if (sender === undefined) return new PeerFrameRejected("malformed", undefined);
    offset += senderLength;
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    const epoch = view.getUint32(offset);
    const seqHigh = view.getUint32(offset + 4);
    const seqLow = view.getUint32(offset + 8);
    offset += 12;
    if (epoch === 0 || seqHigh > 0x1f_ffff || (seqHigh === 0 && seqLow === 0)) return new PeerFrameRejected("malformed", sender);
    const seq = seqHigh * 0x1_0000_0000 + seqLow;
    const window = this.windows.get(sender);
    // A node never sends to itself over the network: its own id is as foreign as any non-member.
    if (window === undefined) return new PeerFrameRejected("nonMember", sender);
    const key = this.keyring.key(keyId);
    if (key === undefined) return new PeerFrameRejected("unknownKeyId", sender);
    const headerLength = offset;
    const expected = createHmac("sha256", key.hmacKey).update(this.ownPrefix).update(asView(bytes, 0, headerLength)).update(asView(bytes, headerLength + PEER_MAC_BYTES, length)).digest();
    if (!timingSafeEqual(expected, asView(bytes, headerLength, headerLength + PEER_MAC_BYTES))) return new PeerFrameRejected("badMac", sender);
    const verdict = window.admit(epoch, seq);
    if (verdict !== "ok") return new PeerFrameRejected(verdict, sender);
    return { sender, epoch, seq, payload: bytes.subarray(headerLength + PEER_MAC_BYTES) };
  }
}

// ----------------------------------------------------------------- wiring --

/** Receives a frame with whether it was authenticated (ActorSystem.handleFrame has this shape). */
export type AuthenticatedFrameHandler = (from: EndpointId, bytes: Uint8Array, authenticated: boolean) => void;

/** Wrap a node's endpoint: frames to members are sealed, frames to anyone else (clients) go unchanged. */
export function sealingEndpoint(endpoint: NetworkEndpoint, auth: PeerAuth): NetworkEndpoint {
  return {
    id: endpoint.id,
    send: (to, frame) => endpoint.send(to, auth.isPeer(to) ? auth.seal(to, frame) : frame),
    stats: () => endpoint.stats(),
    close: () => endpoint.close(),
  };
}

/**
 * The receive side: a sealed frame is opened and, if it verifies, delivered
 * as authenticated from its sealed sender (the transport's sender field is
 * writer-controlled and ignored); an unsealed frame is delivered as
 * unauthenticated from the transport sender, unless that sender names a
 * member. `onReject` sees each refusal (for logging); everything is counted.
 */
export function openingFrameHandler(auth: PeerAuth, deliver: AuthenticatedFrameHandler, onReject?: (from: EndpointId, rejection: PeerFrameRejected | "unsealedFromMember") => void): FrameHandler {
  return (from, bytes) => {
    if (isSealedPeerFrame(bytes)) {
      const opened = auth.open(bytes);
      if (opened instanceof PeerFrameRejected) {
        onReject?.(from, opened);
        return;
      }
      deliver(opened.sender, opened.payload, true);
      return;
    }
    if (!auth.admitUnsealed(from)) {
      onReject?.(from, "unsealedFromMember");
      return;
    }
    deliver(from, bytes, false);
  };
}
