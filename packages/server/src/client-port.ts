/**
 * The live client port: a TCP server speaking ZooKeeper's wire protocol, so
 * unmodified ZooKeeper clients (kazoo, Curator, zkCli, node-zookeeper-client)
 * reach a Corral node directly (DESIGN §7). Each socket becomes one client
 * stream of the node (CorralNode.acceptClientStream): the node's ZkStreamHost
 * runs the per-connection adapter, its bounds and timeouts; this file only
 * moves bytes, applies the socket's flow control and closes what the node
 * closes. Loopback by default; no TLS yet (see the README).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Clock, Logger } from "@corral/actors";
import type { CorralNode } from "./node.js";
import { ClientStreamRefused } from "./zk-streams.js";

export interface ClientPortOptions {
  readonly node: CorralNode;
  /** 0 = any free port. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly logger: Logger;
  /** The node's clock (LiveClock): the close grace timer. */
  readonly clock: Clock;
  /** How long a closed connection may take to flush before its socket is destroyed. */
  readonly closeGraceMs?: number;
}

export interface ClientPort {
  readonly host: string;
  readonly port: number;
  /** host:port, as a ZooKeeper connect string names it. */
  readonly address: string;
  /** Sockets open right now. */
  connections(): number;
  /** Stop listening and close every connection. */
  close(): Promise<void>;
}

/** The client port could not listen (address in use, permission ...). */
export class ClientPortFailed extends Error {
  readonly _tag = "ClientPortFailed";
  readonly code = "CLIENT_PORT_FAILED";
  constructor(
    readonly host: string,
    readonly port: number,
    options: { readonly cause?: unknown } = {},
  ) {
    super(`client port ${host}:${port} could not listen: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = "ClientPortFailed";
  }
}

export async function startClientPort(options: ClientPortOptions): Promise<ClientPort> {
  const host = options.host ?? "127.0.0.1";
  const closeGraceMs = options.closeGraceMs ?? 2_000;
  const sockets = new Set<Socket>();
  let refusedLogged = 0;

  const onSocket = (socket: Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => undefined); // a reset peer; "close" follows and tells the node
    let ended = false;
    const handle = options.node.acceptClientStream({
      remote: socket.remoteAddress ?? "unknown",
      write: (bytes) => {
        if (!ended) socket.write(bytes);
      },
      bufferedOutputBytes: () => socket.writableLength,
      close: () => {
        if (ended) return;
        ended = true;
        socket.end();
        // A client that never reads would keep a half-closed socket forever.
        options.clock.setTimer(closeGraceMs, () => socket.destroy());
      },
      setReading: (reading) => {
        if (reading) socket.resume();
        else socket.pause();
      },
    });
    socket.once("close", () => {
      sockets.delete(socket);
      if (!(handle instanceof ClientStreamRefused)) handle.closed();
    });
    if (handle instanceof ClientStreamRefused) {
      if (++refusedLogged === 1 || refusedLogged % 1000 === 0) options.logger.warn({ limit: handle.limit, refused: refusedLogged }, "client port: connection refused, too many connections");
      return;
    }
    socket.on("data", (chunk: Buffer) => handle.receive(chunk));
  };

  const server: Server = createServer({ noDelay: true }, onSocket);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(new ClientPortFailed(host, options.port, { cause: error }));
    server.once("error", onError);
    server.listen(options.port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => options.logger.error({ error: error.message }, "client port error"));
  const bound = server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : options.port;
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  options.logger.info({ address }, "client port listening (ZooKeeper wire protocol)");

  return {
    host,
    port,
    address,
    connections: () => sockets.size,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
