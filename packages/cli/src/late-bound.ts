/**
 * The client connection the CLI's commands share: the live `connect` of
 * @corral/client over Redis Streams.
 */
import { connect, type Client } from "@corral/client";

export interface LiveConnectOptions {
  readonly cluster: string;
  readonly redis: string;
  readonly nodes: readonly string[];
  readonly sessionTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export function connectClient(options: LiveConnectOptions): Promise<Client> {
  return connect(options);
}
