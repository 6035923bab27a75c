/**
 * The client connection the CLI's commands share: the live `connect` of
 * @corral/client over Redis Streams.
 */
import { connect, type Client, type ConnectOptions } from "@corral/client";

export interface LiveConnectOptions {
  readonly cluster: string;
  /** A URL, or full ioredis options (host, port, username, password, tls) when credentials come from files. */
  readonly redis: ConnectOptions["redis"];
  readonly nodes: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

/** The nodes' client ports (ZooKeeper's wire protocol over TCP): the default whenever they are known. */
export interface TcpConnectOptions {
  readonly servers: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export function connectClient(options: LiveConnectOptions | TcpConnectOptions): Promise<Client> {
  return connect(options);
}
