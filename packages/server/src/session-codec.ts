/**
 * One codec for both directions of a session channel: client messages and
 * node messages have disjoint `type`s, so a ReliableChannel<SessionBody> can
 * carry either. Each side then refuses what it should never receive.
 */
import type { Codec } from "@corral/actors";
import { DecodeFailure } from "@corral/actors";
import {
  decodeClientMessage,
  decodeNodeMessage,
  encodeClientMessage,
  encodeNodeMessage,
  isDecodeError,
  type ClientMessage,
  type NodeMessage,
} from "@corral/protocol";

export type SessionBody = ClientMessage | NodeMessage;

const CLIENT_TYPES = new Set(["connect", "request", "ping", "close"]);

export function isClientMessage(body: SessionBody): body is ClientMessage {
  return CLIENT_TYPES.has(body.type);
}

export const sessionBodyCodec: Codec<SessionBody> = {
  encode(body) {
    return isClientMessage(body) ? encodeClientMessage(body) : encodeNodeMessage(body);
  },
  decode(input) {
    const type = typeof input === "object" && input !== null ? (input as { type?: unknown }).type : undefined;
    const decoded = typeof type === "string" && CLIENT_TYPES.has(type) ? decodeClientMessage(input) : decodeNodeMessage(input);
    return isDecodeError(decoded) ? new DecodeFailure(decoded.message) : decoded;
  },
};
