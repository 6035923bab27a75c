/**
 * A throwaway TLS-only Redis for tests: the `redis-server` binary (built with
 * TLS, as Debian's is) on a free loopback port with `--port 0 --tls-port N`,
 * and the PEM files of a test CA made with `openssl` in a temp directory.
 * Same watchdog as ./redis.ts: the server dies with this process.
 *
 *   const pki = await makeTestPki(dir);         // ca, server (SAN redis.test + 127.0.0.1), client, and a stranger CA
 *   const redis = await startTlsRedis(pki, { authClients: true });
 *   // rediss://127.0.0.1:<port>
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { freePort } from "@corral/actors";

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing here: trusting it alone must fail the handshake. */
  readonly strangerCaCert: string;
  /** The DNS name in the server certificate (besides IP 127.0.0.1). */
  readonly serverName: string;
}

/** Whether `openssl` and a TLS-capable `redis-server` are on this machine. */
export async function tlsRedisAvailable(): Promise<boolean> {
  try {
    await run("openssl", ["version"]);
    const { stdout } = await run(process.env["REDIS_SERVER"] ?? "redis-server", ["--version"]);
    return stdout.includes("Redis server");
  } catch {
    return false;
  }
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  await run("openssl", [...args], { cwd: dir });
}

/** A CA, a server certificate for redis.test / 127.0.0.1, a client certificate, and an unrelated CA; RSA 2048, valid 2 days. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const serverName = "redis.test";
  await openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Corral Test CA", "-keyout", "ca.key", "-out", "ca.crt"]);
  await openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Stranger CA", "-keyout", "stranger.key", "-out", "stranger.crt"]);
  await writeFile(join(dir, "server.ext"), `subjectAltName=DNS:${serverName},IP:127.0.0.1\n`);
  await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const [name, subject, ext] of [
    ["server", `/CN=${serverName}`, "server.ext"],
    ["client", "/CN=corral-node", "client.ext"],
  ] as const) {
    await openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", `${name}.key`, "-out", `${name}.csr`]);
    await openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", `${name}.crt`]);
  }
  const at = (name: string): string => join(dir, name);
  return {
    dir,
    caCert: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    strangerCaCert: at("stranger.crt"),
    serverName,
  };
}

export interface TestTlsRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const WATCHDOG_SCRIPT = 'exec 3<&0; (read -r _ <&3; kill -9 $$) >/dev/null 2>&1 & exec "$0" "$@" 3<&- </dev/null';

/** TLS PING with the test CA and client certificate: does the server answer? */
function tlsPing(port: number, pki: TestPki, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: pki.serverName });
    let reply = "";
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once("error", () => finish(false));
    socket.once("secureConnect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      reply += data.toString("latin1");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}

/** redis-server with TLS only (no plaintext port); `authClients`: demand a client certificate signed by the test CA. */
export async function startTlsRedis(pki: TestPki, options: { readonly authClients?: boolean; readonly extraArgs?: readonly string[]; readonly startTimeoutMs?: number } = {}): Promise<TestTlsRedis> {
  const binary = process.env["REDIS_SERVER"] ?? "redis-server";
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = [
      "--port", "0",
      "--tls-port", String(port),
      "--bind", "127.0.0.1",
      "--tls-cert-file", pki.serverCert,
      "--tls-key-file", pki.serverKey,
      "--tls-ca-cert-file", pki.caCert,
      "--tls-auth-clients", options.authClients === true ? "yes" : "no",
      "--save", "",
      "--appendonly", "no",
      ...(options.extraArgs ?? []),
    ];
    const child: ChildProcess = spawn("sh", ["-c", WATCHDOG_SCRIPT, binary, ...args], { stdio: ["pipe", "ignore", "pipe"] });
    child.stderr?.resume();
    child.stdin?.on("error", () => undefined);
    let exited = false;
    const done = new Promise<void>((resolve) => {
      child.once("exit", () => {
        exited = true;
        resolve();
      });
      child.once("error", () => {
        exited = true;
        resolve();
      });
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      child.stdin?.destroy();
      await done;
    };
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      if (await tlsPing(port, pki, 500)) return { url: `rediss://127.0.0.1:${port}`, port, stop };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await stop();
  }
  throw new Error(`could not start ${binary} with TLS`);
}
