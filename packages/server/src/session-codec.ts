/**
 * The session channel's body codec for the actor runtime: a thin wrapper
 * over @corral/protocol's decodeSessionBody/encodeSessionBody (the client
 * wraps the same functions).
 */
import type { Codec } from "@corral/actors";
import { DecodeFailure } from "@corral/actors";
import { decodeSessionBody, encodeSessionBody, isClientMessage, isDecodeError, type SessionBody } from "@corral/protocol";

export type { SessionBody };
export { isClientMessage };

export const sessionBodyCodec: Codec<SessionBody> = {
  encode: encodeSessionBody,
  decode(input) {
    const decoded = decodeSessionBody(input);
    return isDecodeError(decoded) ? new DecodeFailure(decoded.message) : decoded;
  },
};
