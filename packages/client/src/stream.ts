/**
 * Byte streams to a server (TCP live, in memory in simulation): what the
 * client needs from a connection that speaks ZooKeeper's wire protocol.
 * Nothing here touches real I/O; `stream-live.ts` is the TCP twin.
 */

export interface ByteStreamHandlers {
  /** Bytes from the server, in order. */
  onData(chunk: Uint8Array): void;
  /** The stream ended (peer closed, error, refused connection): called at most once, never after close(). */
  onClose(reason: string): void;
}

export interface ByteStream {
  /** Queue bytes for the server; false once the stream is closed or its send buffer bound was hit (the stream is then closed). */
  write(bytes: Uint8Array): boolean;
  /** Close the stream; no handler is called afterwards. */
  close(): void;
}

export interface StreamConnector {
  /** Open a stream to `address` ("host:port"). Failures arrive as onClose. */
  connect(address: string, handlers: ByteStreamHandlers): ByteStream;
}

/** "host:port" (IPv6 hosts in brackets) as its parts, or undefined. */
export function parseServerAddress(address: string): { readonly host: string; readonly port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** A ZooKeeper connect string "h1:p1,h2:p2[/chroot]" as its servers and chroot. */
export function parseConnectString(connect: string): { readonly servers: readonly string[]; readonly chroot: string | undefined } | undefined {
  const slash = connect.indexOf("/");
  const hosts = slash === -1 ? connect : connect.slice(0, slash);
  const chroot = slash === -1 ? undefined : connect.slice(slash);
  const servers = hosts
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (servers.length === 0 || servers.some((s) => parseServerAddress(s) === undefined)) return undefined;
  return { servers, chroot: chroot === "/" ? undefined : chroot };
}
