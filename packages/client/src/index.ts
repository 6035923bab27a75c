export type {
  Client,
  ConnectionState,
  StateChange,
  WatchedEvent,
  Watcher,
  CreateOptions,
  CreateResponse,
  ReadOptions,
  WatchOptions,
  MultiResult,
  MultiBuilder,
  EventStream,
  CorralError,
} from "./api.js";
export { CorralClient, ClientClosed, connectWith } from "./client.js";
export type { ClientStats, ClientInternals, MultiOpError } from "./client.js";
export { connect } from "./connect-live.js";
export type { ConnectOptions, ServersConnectOptions } from "./connect-live.js";
export { tcpConnector } from "./stream-live.js";
export type { TcpConnectorOptions } from "./stream-live.js";
export { parseConnectString, parseServerAddress } from "./stream.js";
export type { ByteStream, ByteStreamHandlers, StreamConnector } from "./stream.js";
export { ZkWireClient, WireProtocolError, packZkSecret, unpackZkSecret } from "./zk-wire.js";
export type { ZkWireOptions } from "./zk-wire.js";
export { resolveClientOptions } from "./options.js";
export type { ClientOptions, ClientEnv, ReconnectBackoff, ResolvedClientOptions } from "./options.js";
export { encodeUtf8, decodeUtf8 } from "./data.js";
export { retryPolicy, withRetry, isRetryable } from "./retry.js";
export type { RetryPolicy, RetryOptions } from "./retry.js";
