import type { Address } from "./actor.js";
import { DecodeFailure, readInt, readLiteral, readObject, readRaw, readString } from "./codec.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./network.js";

/**
 * Wire framing. A frame is UTF-8 JSON in a small envelope whose kind `k`
 * lets one endpoint multiplex actor messages and reliable-channel traffic:
 *
 *   actor message:   {"v":1,"c":"<cluster>","k":"a","t":"<to actor>","f":["<from node>","<from actor>"],"b":<body>}
 *   channel traffic: {"v":1,"c":"<cluster>","k":"r","p":<channel frame>}
 *
 * `c` is the cluster tag (absent when none is configured). A frame for another
 * cluster, another version, larger than the maximum, not UTF-8, not JSON or
 * of the wrong shape is a FrameError: the receiver drops it and counts it.
 */

export const FRAME_VERSION = 1;
/** Longest actor, node and cluster name accepted on the wire. */
export const MAX_NAME_LENGTH = 256;

export interface FrameOptions {
  /** Frames carrying another tag (or none, when this is set) are foreign. */
  readonly clusterTag?: string;
  readonly maxFrameBytes?: number;
}

export interface ActorFrame {
  readonly k: "a";
  readonly toActor: string;
  readonly from: Address;
  /** The body as decoded JSON; the destination actor's codec validates it. */
  readonly body: unknown;
}

export interface ChannelWireFrame {
  readonly k: "r";
  /** The channel frame as decoded JSON; `decodeChannelFrame` validates it. */
  readonly payload: unknown;
}

export type Frame = ActorFrame | ChannelWireFrame;

export class FrameTooLarge {
  readonly _tag = "FrameTooLarge";
  readonly code = "FRAME_TOO_LARGE";
  constructor(
    readonly bytes: number,
    readonly maxFrameBytes: number,
  ) {}
}

export class MalformedFrame {
  readonly _tag = "MalformedFrame";
  readonly code = "MALFORMED_FRAME";
  constructor(readonly reason: string) {}
}

export class ForeignFrame {
  readonly _tag = "ForeignFrame";
  readonly code = "FOREIGN_FRAME";
  constructor(readonly clusterTag: string | undefined) {}
}

export type FrameError = FrameTooLarge | MalformedFrame | ForeignFrame;

export function isFrameError(value: unknown): value is FrameError {
  return value instanceof FrameTooLarge || value instanceof MalformedFrame || value instanceof ForeignFrame;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function finish(json: string, options: FrameOptions): Uint8Array | FrameTooLarge {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: skip encoding hopeless frames.
  if (json.length > maxFrameBytes) return new FrameTooLarge(json.length, maxFrameBytes);
  const bytes = encoder.encode(json);
  if (bytes.length > maxFrameBytes) return new FrameTooLarge(bytes.length, maxFrameBytes);
  return bytes;
}

/** Encode an actor message whose body is already JSON-able (the codec's output). */
export function encodeActorFrame(toActor: string, from: Address, body: unknown, options: FrameOptions = {}): Uint8Array | FrameTooLarge {
  const envelope = options.clusterTag === undefined
    ? { v: FRAME_VERSION, k: "a", t: toActor, f: [from.node, from.actor], b: body }
    : { v: FRAME_VERSION, c: options.clusterTag, k: "a", t: toActor, f: [from.node, from.actor], b: body };
  return finish(JSON.stringify(envelope), options);
}

/** Encode reliable-channel traffic (the channel frame is already JSON-able). */
export function encodeChannelWireFrame(payload: unknown, options: FrameOptions = {}): Uint8Array | FrameTooLarge {
  const envelope = options.clusterTag === undefined ? { v: FRAME_VERSION, k: "r", p: payload } : { v: FRAME_VERSION, c: options.clusterTag, k: "r", p: payload };
  return finish(JSON.stringify(envelope), options);
}

/** Decode and validate a frame's envelope. Never throws. */
export function decodeFrame(bytes: Uint8Array, options: FrameOptions = {}): Frame | FrameError {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (bytes.length > maxFrameBytes) return new FrameTooLarge(bytes.length, maxFrameBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (_error) {
    return new MalformedFrame("not UTF-8 JSON");
  }
  const envelope = readObject(parsed);
  if (envelope instanceof DecodeFailure) return new MalformedFrame("envelope is not an object");
  const version = readInt(envelope, "v", { min: 0, max: 1_000_000 });
  if (version instanceof DecodeFailure) return new MalformedFrame("missing version");
  if (version !== FRAME_VERSION) return new MalformedFrame(`unsupported version ${version}`);
  const cluster = readString(envelope, "c", { maxLength: MAX_NAME_LENGTH, optional: true });
  if (cluster instanceof DecodeFailure) return new MalformedFrame("bad cluster tag");
  if (cluster !== options.clusterTag) return new ForeignFrame(cluster);
  const kind = readLiteral(envelope, "k", ["a", "r"] as const);
  if (kind instanceof DecodeFailure) return new MalformedFrame("unknown kind");
  if (kind === "r") {
    const payload = readRaw(envelope, "p");
    if (payload === undefined) return new MalformedFrame("channel frame without payload");
    return { k: "r", payload };
  }
  const toActor = readString(envelope, "t", { minLength: 1, maxLength: MAX_NAME_LENGTH });
  if (toActor instanceof DecodeFailure) return new MalformedFrame("bad destination actor");
  const from = readRaw(envelope, "f");
  if (!Array.isArray(from) || from.length !== 2) return new MalformedFrame("bad sender address");
  const [fromNode, fromActor] = from as unknown[];
  if (typeof fromNode !== "string" || typeof fromActor !== "string" || fromNode.length === 0 || fromActor.length === 0 || fromNode.length > MAX_NAME_LENGTH || fromActor.length > MAX_NAME_LENGTH) {
    return new MalformedFrame("bad sender address");
  }
  const body = readRaw(envelope, "b");
  if (body === undefined) return new MalformedFrame("actor frame without body");
  return { k: "a", toActor, from: { node: fromNode, actor: fromActor }, body };
}
