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

export function connectClient(options: LiveConnectOptions): Promise<Client> {
  return connect(options);
}
