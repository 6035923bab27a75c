/**
 * Typed failures of the jute (ZooKeeper wire protocol) codec. Decoders and
 * encoders return a JuteError, they never throw. `code` is stable and meant
 * to be switched on; `reason` is for humans; `at` names the field
 * ("request.acl[2].id.scheme").
 */

/** Limits a JuteError with code "LimitExceeded" can name. */
export type JuteLimitName =
  | "maxPacketBytes"
  | "maxBufferBytes"
  | "maxStringBytes"
  | "maxPathLength"
  | "maxVectorLength"
  | "maxMultiOps"
  | "maxPasswordBytes";

export type JuteErrorCode =
  /** Fewer bytes than the field needs (a cut packet or a length that points past the end). */
  | "Truncated"
  /** A length prefix below -1 (buffers, strings, vectors) or below 0 (a frame). */
  | "InvalidLength"
  /** A field or packet is larger than a configured limit; `limit` names it. */
  | "LimitExceeded"
  /** A boolean byte other than 0 or 1. */
  | "InvalidBoolean"
  /** A ustring that is not well-formed UTF-8. */
  | "InvalidUtf8"
  /** -1 (null) where the field may not be null (paths, schemes ...). */
  | "NullValue"
  /** A request opcode this codec does not know; `xid` and `opCode` are set so a server can answer Unimplemented. */
  | "UnknownOpcode"
  /** A reply whose xid the caller does not expect (no pending request). */
  | "UnexpectedXid"
  /** A multi sub-op (or multi result) type that is not allowed there. */
  | "InvalidMultiOp"
  /** Bytes left after the record was read. */
  | "TrailingBytes"
  /** An encoder got a value that does not fit its jute type (int32, int64 ...) or an inconsistent record. */
  | "InvalidValue"
  /** A conversion to a Corral type met a value Corral cannot represent (a 64-bit id beyond 2^53 ...). */
  | "Unrepresentable";

export class JuteError extends Error {
  readonly _tag = "JuteError" as const;
  /** Set when code is "LimitExceeded". */
  readonly limit: JuteLimitName | undefined;
  /** Set when code is "UnknownOpcode" / "UnexpectedXid": the packet's xid. */
  readonly xid: number | undefined;
  /** Set when code is "UnknownOpcode": the opcode received. */
  readonly opCode: number | undefined;

  constructor(
    readonly code: JuteErrorCode,
    readonly reason: string,
    readonly at: string = "",
    details: { readonly limit?: JuteLimitName; readonly xid?: number; readonly opCode?: number } = {},
  ) {
    super(at === "" ? `jute ${code}: ${reason}` : `jute ${code} at ${at}: ${reason}`);
    this.name = "JuteError";
    this.limit = details.limit;
    this.xid = details.xid;
    this.opCode = details.opCode;
  }
}

export function isJuteError(value: unknown): value is JuteError {
  return value instanceof JuteError;
}
