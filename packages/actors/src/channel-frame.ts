import { DecodeFailure, readArray, readInt, readLiteral, readObject, readRaw, readString } from "./codec.js";
import type { Codec } from "./codec.js";

/**
 * Reliable-channel frames (carried in a wire frame of kind "r", frame.ts):
 *   data:  {t:"d", i:<channel id>, s:<seq>, a:<cumulative ack>, b:<body>}
 *   ack:   {t:"k", i, a, r?:[[from, to], ...]}   also the keep-alive heartbeat;
 *          `r` lists selectively acknowledged seq ranges above `a` (inclusive).
 *   reset: {t:"x", i}   "I do not know this channel": the peer fails it.
 * Sequence numbers start at 1; `a` is the highest seq delivered in order (0 = none).
 */

export type ChannelFrame<M> =
  | { readonly t: "d"; readonly i: string; readonly s: number; readonly a: number; readonly b: M }
  | { readonly t: "k"; readonly i: string; readonly a: number; readonly r?: readonly (readonly [number, number])[] }
  | { readonly t: "x"; readonly i: string };

export const MAX_CHANNEL_ID_LENGTH = 128;
/** Most selective-ack ranges accepted in one frame. */
export const MAX_SACK_RANGES = 64;

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

function readRange(value: unknown, path: string): readonly [number, number] | DecodeFailure {
  if (!Array.isArray(value) || value.length !== 2) return new DecodeFailure("expected [from, to]", path);
  const [from, to] = value as unknown[];
  if (typeof from !== "number" || typeof to !== "number" || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
    return new DecodeFailure("expected 1 <= from <= to", path);
  }
  return [from, to];
}

/** A strict codec for channel frames whose bodies use `bodyCodec`. */
export function channelFrameCodec<M>(bodyCodec: Codec<M>): Codec<ChannelFrame<M>> {
  return {
    encode(frame: ChannelFrame<M>): unknown {
      if (frame.t === "d") return { t: "d", i: frame.i, s: frame.s, a: frame.a, b: bodyCodec.encode(frame.b) };
      return frame;
    },
    decode(input: unknown): ChannelFrame<M> | DecodeFailure {
      const object = readObject(input);
      if (object instanceof DecodeFailure) return object;
      const kind = readLiteral(object, "t", ["d", "k", "x"] as const);
      if (kind instanceof DecodeFailure) return kind;
      const channelId = readString(object, "i", { minLength: 1, maxLength: MAX_CHANNEL_ID_LENGTH });
      if (channelId instanceof DecodeFailure) return channelId;
      if (kind === "x") return { t: "x", i: channelId };
      const ack = readInt(object, "a", { min: 0, max: MAX_SEQ });
      if (ack instanceof DecodeFailure) return ack;
      if (kind === "k") {
        if (readRaw(object, "r") === undefined) return { t: "k", i: channelId, a: ack };
        const ranges = readArray(object, "r", { maxLength: MAX_SACK_RANGES }, readRange);
        if (ranges instanceof DecodeFailure) return ranges;
        return { t: "k", i: channelId, a: ack, r: ranges };
      }
      const seq = readInt(object, "s", { min: 1, max: MAX_SEQ });
      if (seq instanceof DecodeFailure) return seq;
      const body = bodyCodec.decode(readRaw(object, "b"));
      if (body instanceof DecodeFailure) return new DecodeFailure(body.reason, body.path === "" ? "b" : `b.${body.path}`);
      return { t: "d", i: channelId, s: seq, a: ack, b: body };
    },
  };
}
