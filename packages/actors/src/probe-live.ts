/**
 * Small live probes shared by everything that starts or checks a Redis on
 * loopback (`corral up`, the test harness): a free port and a raw PING.
 */
import { createConnection, createServer } from "node:net";

/** A free TCP port on `host` (closed again before returning: callers retry on the small race). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * One PING over a raw socket; true on +PONG within timeoutMs. With
 * `acceptNoAuth`, a server that wants a password (-NOAUTH) also counts as up.
 */
export function pingRedis(host: string, port: number, timeoutMs = 500, acceptNoAuth = false): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = "";
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("error", () => finish(false));
    socket.on("data", (data) => {
      reply += data.toString("latin1");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG") || (acceptNoAuth && reply.startsWith("-NOAUTH")));
    });
    socket.once("connect", () => socket.write("PING\r\n"));
  });
}
