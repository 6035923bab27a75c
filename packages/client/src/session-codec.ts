/**
 * The session channel's body codec for the actor runtime, client side: a thin
 * wrapper over @corral/protocol's decodeSessionBody/encodeSessionBody (the
 * node wraps the same functions).
 */
import type { Codec } from "@corral/actors";
import { DecodeFailure } from "@corral/actors";
import { decodeSessionBody, encodeSessionBody, isDecodeError, isNodeMessage, type SessionBody } from "@corral/protocol";

export type { SessionBody };
export { isNodeMessage };

export const sessionBodyCodec: Codec<SessionBody> = {
  encode: encodeSessionBody,
  decode(input) {
    const decoded = decodeSessionBody(input);
    return isDecodeError(decoded) ? new DecodeFailure(decoded.message) : decoded;
  },
};
