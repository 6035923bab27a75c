/**
 * A standalone Apache ZooKeeper 3.8 (Debian package `zookeeper`) on a free
 * loopback port, for tests that hold Corral's client and recipes to the real
 * thing. scripts/ensure-deps installs the package for the test suite; without
 * it `startZooKeeper` fails with a message naming it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@corral/actors";

export const ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar";
const LOGGING_JAR = "/usr/share/java/slf4j-simple.jar";

export class ZooKeeperUnavailable extends Error {
  readonly _tag = "ZooKeeperUnavailable";
  constructor(reason: string) {
    super(`Apache ZooKeeper is needed for this test: ${reason} (apt-get install zookeeper; scripts/ensure-deps does it for ./scripts/test)`);
    this.name = "ZooKeeperUnavailable";
  }
}

export interface ZooKeeperServer {
  /** "127.0.0.1:<port>" */
  readonly connectString: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Sends a four-letter word and returns the reply (empty on any failure). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    let out = "";
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("connect", () => socket.write(word));
    socket.on("data", (chunk) => (out += chunk.toString("utf8")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

export async function startZooKeeper(options: { readonly startTimeoutMs?: number } = {}): Promise<ZooKeeperServer> {
  if (!existsSync(ZOOKEEPER_JAR)) throw new ZooKeeperUnavailable(`${ZOOKEEPER_JAR} not found`);
  const directory = mkdtempSync(join(tmpdir(), "corral-zk-"));
  const port = await freePort();
  writeFileSync(
    join(directory, "zoo.cfg"),
    [
      "tickTime=2000",
      `dataDir=${join(directory, "data")}`,
      `clientPort=${port}`,
      "clientPortAddress=127.0.0.1",
      "admin.enableServer=false",
      "4lw.commands.whitelist=ruok,srvr",
      // TTL nodes, as Corral offers them.
      "extendedTypesEnabled=true",
      "",
    ].join("\n"),
  );
  const classPath = existsSync(LOGGING_JAR) ? `${ZOOKEEPER_JAR}:${LOGGING_JAR}` : ZOOKEEPER_JAR;
  const child: ChildProcess = spawn(
    "java",
    [
      "-Xmx256m",
      "-XX:+UseSerialGC",
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      "-Dzookeeper.jmx.log4j.disable=true",
      "-cp",
      classPath,
      "org.apache.zookeeper.server.quorum.QuorumPeerMain",
      join(directory, "zoo.cfg"),
    ],
    { stdio: "ignore" },
  );
  let exited = false;
  child.on("exit", () => (exited = true));
  child.on("error", () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await gone;
    }
    rmSync(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while ((await fourLetterWord(port, "ruok", 1_000)) !== "imok") {
    if (exited) {
      await stop();
      throw new ZooKeeperUnavailable("the server exited at start (is java installed?)");
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ZooKeeperUnavailable(`not serving on port ${port} within ${options.startTimeoutMs ?? 60_000} ms`);
    }
    // Readiness of an external process: poll its ruok between attempts (bounded by the deadline above).
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { connectString: `127.0.0.1:${port}`, port, stop };
}
