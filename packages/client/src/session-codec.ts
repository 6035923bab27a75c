/**
 * The codec of a session channel's bodies, client side. Client and node
 * messages have disjoint `type`s, so one ReliableChannel<SessionBody> carries
 * both directions (the node uses the same shape: packages/server/src/session-codec.ts).
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

export function isNodeMessage(body: SessionBody): body is NodeMessage {
  return !CLIENT_TYPES.has(body.type);
}

export const sessionBodyCodec: Codec<SessionBody> = {
  encode(body) {
    return isNodeMessage(body) ? encodeNodeMessage(body) : encodeClientMessage(body);
  },
  decode(input) {
    const type = typeof input === "object" && input !== null ? (input as { type?: unknown }).type : undefined;
    const decoded = typeof type === "string" && CLIENT_TYPES.has(type) ? decodeClientMessage(input) : decodeNodeMessage(input);
    return isDecodeError(decoded) ? new DecodeFailure(decoded.message) : decoded;
  },
};
