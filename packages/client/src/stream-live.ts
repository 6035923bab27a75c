/**
 * TCP byte streams for the client (the live twin of StreamConnector). The
 * send buffer is bounded: a server that stops reading cannot make the client
 * grow without limit; the stream is closed instead and the client fails over.
 */
import { connect as netConnect } from "node:net";
import { parseServerAddress, type ByteStream, type ByteStreamHandlers, type StreamConnector } from "./stream.js";

export interface TcpConnectorOptions {
  /** Bytes queued for a server that is not reading before the stream is closed (default 16 MiB). */
  readonly maxBufferedBytes?: number;
}

export function tcpConnector(options: TcpConnectorOptions = {}): StreamConnector {
  const maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024 * 1024;
  return {
    connect(address: string, handlers: ByteStreamHandlers): ByteStream {
      const parsed = parseServerAddress(address);
      let closed = false;
      const end = (reason: string): void => {
        if (closed) return;
        closed = true;
        handlers.onClose(reason);
      };
      if (parsed === undefined) {
        queueMicrotask(() => end(`bad server address ${JSON.stringify(address)} (want host:port)`));
        return { write: () => false, close: () => void (closed = true) };
      }
      const socket = netConnect({ host: parsed.host, port: parsed.port, noDelay: true });
      socket.on("data", (chunk: Buffer) => {
        if (!closed) handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
      socket.on("error", (error) => end(error.message));
      socket.on("close", () => end("closed by the server"));
      return {
        write(bytes: Uint8Array): boolean {
          if (closed) return false;
          if (socket.writableLength + bytes.byteLength > maxBufferedBytes) {
            socket.destroy();
            end(`more than ${maxBufferedBytes} bytes queued for a server that is not reading`);
            return false;
          }
          socket.write(bytes);
          return true;
        },
        close(): void {
          closed = true;
          socket.destroy();
        },
      };
    },
  };
}
