/**
 * Error codes and typed errors.
 *
 * ZooKeeper's codes keep ZooKeeper's numbers (KeeperException.Code), so tools
 * and users that know ZooKeeper read them unchanged. Corral's own codes live in
 * the positive range 1000..1999, which ZooKeeper never uses.
 */

/** ZooKeeper-compatible error codes (KeeperException.Code numbering). */
export const ErrorCode = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  UnknownSession: -12,
  NewConfigNoQuorum: -13,
  ReconfigInProgress: -14,
  APIError: -100,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidCallback: -113,
  InvalidACL: -114,
  AuthFailed: -115,
  SessionMoved: -118,
  NotReadOnly: -119,
  EphemeralOnLocalSession: -120,
  NoWatcher: -121,
  RequestTimeout: -122,
  ReconfigDisabled: -123,
  SessionClosedRequireSaslAuth: -124,
  QuotaExceeded: -125,
  Throttled: -127,
} as const;

/** Corral-specific codes (range 1000..1999, never used by ZooKeeper). */
export const CorralCode = {
  NotLeader: 1000,
  TooManyRequests: 1001,
  RequestForgotten: 1002,
  LimitExceeded: 1003,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode | keyof typeof CorralCode;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | (typeof CorralCode)[keyof typeof CorralCode];
/** Codes that denote a failure (everything but Ok). */
export type FailureCode = Exclude<ErrorCodeValue, 0>;

const allCodes: Record<string, number> = { ...ErrorCode, ...CorralCode };

/** Code number -> name, e.g. ErrorCodeName[-101] === "NoNode". */
export const ErrorCodeName: Readonly<Record<number, ErrorCodeName>> = Object.freeze(
  Object.fromEntries(Object.entries(allCodes).map(([name, code]) => [code, name as ErrorCodeName])),
);

export function isErrorCode(value: unknown): value is ErrorCodeValue {
  return typeof value === "number" && Object.prototype.hasOwnProperty.call(ErrorCodeName, value);
}

/**
 * Base of every typed Corral failure. `_tag` is the code's name, `code` its
 * number; `path` names the znode concerned when there is one.
 */
export abstract class CorralError extends Error {
  abstract readonly _tag: Exclude<ErrorCodeName, "Ok">;
  abstract readonly code: FailureCode;
  readonly path: string | undefined;
  constructor(message: string, path?: string, options?: { cause?: unknown }) {
    super(path === undefined ? message : `${message}: ${path}`, options);
    this.path = path;
  }
}

/** A system or server-side error. */
export class SystemError extends CorralError {
  readonly _tag = "SystemError" as const;
  readonly code = ErrorCode.SystemError;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a system or server-side error", path, options);
    this.name = "SystemError";
  }
}

/** A runtime inconsistency; in multi results: an op after the failing one. */
export class RuntimeInconsistencyError extends CorralError {
  readonly _tag = "RuntimeInconsistency" as const;
  readonly code = ErrorCode.RuntimeInconsistency;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a runtime inconsistency; in multi results: an op after the failing one", path, options);
    this.name = "RuntimeInconsistencyError";
  }
}

/** A data inconsistency was found. */
export class DataInconsistencyError extends CorralError {
  readonly _tag = "DataInconsistency" as const;
  readonly code = ErrorCode.DataInconsistency;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a data inconsistency was found", path, options);
    this.name = "DataInconsistencyError";
  }
}

/** The connection to the ensemble was lost; the outcome is unknown. */
export class ConnectionLossError extends CorralError {
  readonly _tag = "ConnectionLoss" as const;
  readonly code = ErrorCode.ConnectionLoss;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the connection to the ensemble was lost; the outcome is unknown", path, options);
    this.name = "ConnectionLossError";
  }
}

/** A message could not be encoded or decoded. */
export class MarshallingError extends CorralError {
  readonly _tag = "MarshallingError" as const;
  readonly code = ErrorCode.MarshallingError;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a message could not be encoded or decoded", path, options);
    this.name = "MarshallingError";
  }
}

/** The operation is not implemented. */
export class UnimplementedError extends CorralError {
  readonly _tag = "Unimplemented" as const;
  readonly code = ErrorCode.Unimplemented;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the operation is not implemented", path, options);
    this.name = "UnimplementedError";
  }
}

/** The operation timed out. */
export class OperationTimeoutError extends CorralError {
  readonly _tag = "OperationTimeout" as const;
  readonly code = ErrorCode.OperationTimeout;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the operation timed out", path, options);
    this.name = "OperationTimeoutError";
  }
}

/** Invalid arguments. */
export class BadArgumentsError extends CorralError {
  readonly _tag = "BadArguments" as const;
  readonly code = ErrorCode.BadArguments;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("invalid arguments", path, options);
    this.name = "BadArgumentsError";
  }
}

/** Unknown session (internal). */
export class UnknownSessionError extends CorralError {
  readonly _tag = "UnknownSession" as const;
  readonly code = ErrorCode.UnknownSession;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("unknown session (internal)", path, options);
    this.name = "UnknownSessionError";
  }
}

/** The new configuration has no quorum. */
export class NewConfigNoQuorumError extends CorralError {
  readonly _tag = "NewConfigNoQuorum" as const;
  readonly code = ErrorCode.NewConfigNoQuorum;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the new configuration has no quorum", path, options);
    this.name = "NewConfigNoQuorumError";
  }
}

/** A reconfiguration is in progress. */
export class ReconfigInProgressError extends CorralError {
  readonly _tag = "ReconfigInProgress" as const;
  readonly code = ErrorCode.ReconfigInProgress;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a reconfiguration is in progress", path, options);
    this.name = "ReconfigInProgressError";
  }
}

/** Generic API error. */
export class APIError extends CorralError {
  readonly _tag = "APIError" as const;
  readonly code = ErrorCode.APIError;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("generic API error", path, options);
    this.name = "APIError";
  }
}

/** The node does not exist. */
export class NoNodeError extends CorralError {
  readonly _tag = "NoNode" as const;
  readonly code = ErrorCode.NoNode;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the node does not exist", path, options);
    this.name = "NoNodeError";
  }
}

/** Not authorised. */
export class NoAuthError extends CorralError {
  readonly _tag = "NoAuth" as const;
  readonly code = ErrorCode.NoAuth;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("not authorised", path, options);
    this.name = "NoAuthError";
  }
}

/** Version conflict. */
export class BadVersionError extends CorralError {
  readonly _tag = "BadVersion" as const;
  readonly code = ErrorCode.BadVersion;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("version conflict", path, options);
    this.name = "BadVersionError";
  }
}

/** Ephemeral nodes may not have children. */
export class NoChildrenForEphemeralsError extends CorralError {
  readonly _tag = "NoChildrenForEphemerals" as const;
  readonly code = ErrorCode.NoChildrenForEphemerals;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("ephemeral nodes may not have children", path, options);
    this.name = "NoChildrenForEphemeralsError";
  }
}

/** The node already exists. */
export class NodeExistsError extends CorralError {
  readonly _tag = "NodeExists" as const;
  readonly code = ErrorCode.NodeExists;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the node already exists", path, options);
    this.name = "NodeExistsError";
  }
}

/** The node has children. */
export class NotEmptyError extends CorralError {
  readonly _tag = "NotEmpty" as const;
  readonly code = ErrorCode.NotEmpty;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the node has children", path, options);
    this.name = "NotEmptyError";
  }
}

/** The session has expired or is unknown. */
export class SessionExpiredError extends CorralError {
  readonly _tag = "SessionExpired" as const;
  readonly code = ErrorCode.SessionExpired;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the session has expired or is unknown", path, options);
    this.name = "SessionExpiredError";
  }
}

/** Invalid callback. */
export class InvalidCallbackError extends CorralError {
  readonly _tag = "InvalidCallback" as const;
  readonly code = ErrorCode.InvalidCallback;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("invalid callback", path, options);
    this.name = "InvalidCallbackError";
  }
}

/** Invalid ACL. */
export class InvalidACLError extends CorralError {
  readonly _tag = "InvalidACL" as const;
  readonly code = ErrorCode.InvalidACL;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("invalid ACL", path, options);
    this.name = "InvalidACLError";
  }
}

/** Client authentication failed. */
export class AuthFailedError extends CorralError {
  readonly _tag = "AuthFailed" as const;
  readonly code = ErrorCode.AuthFailed;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("client authentication failed", path, options);
    this.name = "AuthFailedError";
  }
}

/** The session moved to another server. */
export class SessionMovedError extends CorralError {
  readonly _tag = "SessionMoved" as const;
  readonly code = ErrorCode.SessionMoved;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the session moved to another server", path, options);
    this.name = "SessionMovedError";
  }
}

/** State-changing request sent to a read-only server. */
export class NotReadOnlyError extends CorralError {
  readonly _tag = "NotReadOnly" as const;
  readonly code = ErrorCode.NotReadOnly;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("state-changing request sent to a read-only server", path, options);
    this.name = "NotReadOnlyError";
  }
}

/** Ephemeral node on a local session. */
export class EphemeralOnLocalSessionError extends CorralError {
  readonly _tag = "EphemeralOnLocalSession" as const;
  readonly code = ErrorCode.EphemeralOnLocalSession;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("ephemeral node on a local session", path, options);
    this.name = "EphemeralOnLocalSessionError";
  }
}

/** The watcher does not exist. */
export class NoWatcherError extends CorralError {
  readonly _tag = "NoWatcher" as const;
  readonly code = ErrorCode.NoWatcher;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the watcher does not exist", path, options);
    this.name = "NoWatcherError";
  }
}

/** The request timed out. */
export class RequestTimeoutError extends CorralError {
  readonly _tag = "RequestTimeout" as const;
  readonly code = ErrorCode.RequestTimeout;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the request timed out", path, options);
    this.name = "RequestTimeoutError";
  }
}

/** Reconfiguration is disabled. */
export class ReconfigDisabledError extends CorralError {
  readonly _tag = "ReconfigDisabled" as const;
  readonly code = ErrorCode.ReconfigDisabled;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("reconfiguration is disabled", path, options);
    this.name = "ReconfigDisabledError";
  }
}

/** The session was closed: SASL authentication is required. */
export class SessionClosedRequireSaslAuthError extends CorralError {
  readonly _tag = "SessionClosedRequireSaslAuth" as const;
  readonly code = ErrorCode.SessionClosedRequireSaslAuth;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the session was closed: SASL authentication is required", path, options);
    this.name = "SessionClosedRequireSaslAuthError";
  }
}

/** A quota was exceeded. */
export class QuotaExceededError extends CorralError {
  readonly _tag = "QuotaExceeded" as const;
  readonly code = ErrorCode.QuotaExceeded;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a quota was exceeded", path, options);
    this.name = "QuotaExceededError";
  }
}

/** The operation was throttled. */
export class ThrottledError extends CorralError {
  readonly _tag = "Throttled" as const;
  readonly code = ErrorCode.Throttled;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("the operation was throttled", path, options);
    this.name = "ThrottledError";
  }
}

/** This node is not the leader. */
export class NotLeaderError extends CorralError {
  readonly _tag = "NotLeader" as const;
  readonly code = CorralCode.NotLeader;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("this node is not the leader", path, options);
    this.name = "NotLeaderError";
  }
}

/** Too many outstanding requests (backpressure); retry later. */
export class TooManyRequestsError extends CorralError {
  readonly _tag = "TooManyRequests" as const;
  readonly code = CorralCode.TooManyRequests;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("too many outstanding requests (backpressure); retry later", path, options);
    this.name = "TooManyRequestsError";
  }
}

/** A re-sent write is older than the exactly-once window; its result is no longer known. */
export class RequestForgottenError extends CorralError {
  readonly _tag = "RequestForgotten" as const;
  readonly code = CorralCode.RequestForgotten;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a re-sent write is older than the exactly-once window; its result is no longer known", path, options);
    this.name = "RequestForgottenError";
  }
}

/** A configured limit was exceeded (data size, ops per multi, message size ...). */
export class LimitExceededError extends CorralError {
  readonly _tag = "LimitExceeded" as const;
  readonly code = CorralCode.LimitExceeded;
  constructor(path?: string, options?: { cause?: unknown }) {
    super("a configured limit was exceeded (data size, ops per multi, message size ...)", path, options);
    this.name = "LimitExceededError";
  }
}

const constructors: Record<number, new (path?: string, options?: { cause?: unknown }) => CorralError> = {
  [ErrorCode.SystemError]: SystemError,
  [ErrorCode.RuntimeInconsistency]: RuntimeInconsistencyError,
  [ErrorCode.DataInconsistency]: DataInconsistencyError,
  [ErrorCode.ConnectionLoss]: ConnectionLossError,
  [ErrorCode.MarshallingError]: MarshallingError,
  [ErrorCode.Unimplemented]: UnimplementedError,
  [ErrorCode.OperationTimeout]: OperationTimeoutError,
  [ErrorCode.BadArguments]: BadArgumentsError,
  [ErrorCode.UnknownSession]: UnknownSessionError,
  [ErrorCode.NewConfigNoQuorum]: NewConfigNoQuorumError,
  [ErrorCode.ReconfigInProgress]: ReconfigInProgressError,
  [ErrorCode.APIError]: APIError,
  [ErrorCode.NoNode]: NoNodeError,
  [ErrorCode.NoAuth]: NoAuthError,
  [ErrorCode.BadVersion]: BadVersionError,
  [ErrorCode.NoChildrenForEphemerals]: NoChildrenForEphemeralsError,
  [ErrorCode.NodeExists]: NodeExistsError,
  [ErrorCode.NotEmpty]: NotEmptyError,
  [ErrorCode.SessionExpired]: SessionExpiredError,
  [ErrorCode.InvalidCallback]: InvalidCallbackError,
  [ErrorCode.InvalidACL]: InvalidACLError,
  [ErrorCode.AuthFailed]: AuthFailedError,
  [ErrorCode.SessionMoved]: SessionMovedError,
  [ErrorCode.NotReadOnly]: NotReadOnlyError,
  [ErrorCode.EphemeralOnLocalSession]: EphemeralOnLocalSessionError,
  [ErrorCode.NoWatcher]: NoWatcherError,
  [ErrorCode.RequestTimeout]: RequestTimeoutError,
  [ErrorCode.ReconfigDisabled]: ReconfigDisabledError,
  [ErrorCode.SessionClosedRequireSaslAuth]: SessionClosedRequireSaslAuthError,
  [ErrorCode.QuotaExceeded]: QuotaExceededError,
  [ErrorCode.Throttled]: ThrottledError,
  [CorralCode.NotLeader]: NotLeaderError,
  [CorralCode.TooManyRequests]: TooManyRequestsError,
  [CorralCode.RequestForgotten]: RequestForgottenError,
  [CorralCode.LimitExceeded]: LimitExceededError,
};

/**
 * The typed error for a failure code. An unknown code (a newer peer, a corrupt
 * message) maps to SystemError with the original code in the message rather
 * than throwing.
 */
export function errorFromCode(code: number, path?: string, options?: { cause?: unknown }): CorralError {
  const make = constructors[code];
  if (make === undefined) {
    return new SystemError(path, { cause: options?.cause ?? `unknown error code ${code}` });
  }
  return new make(path, options);
}

export function isCorralError(value: unknown): value is CorralError {
  return value instanceof CorralError;
}

/**
 * A value from the wire (or any untrusted input) that does not decode. It is
 * returned, never thrown. `at` locates the offending field ("ops[3].path").
 */
export class DecodeError extends Error {
  readonly _tag = "DecodeError" as const;
  readonly code = ErrorCode.MarshallingError;
  constructor(
    readonly reason: string,
    readonly at: string = "",
    /** True when the value is well-formed but exceeds a size limit (too long, too many, too large). */
    readonly overLimit: boolean = false,
  ) {
    super(at === "" ? reason : `${at}: ${reason}`);
    this.name = "DecodeError";
  }
}

export function isDecodeError(value: unknown): value is DecodeError {
  return value instanceof DecodeError;
}
