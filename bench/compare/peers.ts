/**
 * Starts and stops the peers' 3-member ensembles on loopback: Apache ZooKeeper
 * (Debian package `zookeeper`, run as `java ... QuorumPeerMain`) and etcd 3.4
 * (Debian package `etcd-server`). Default durability for both (ZooKeeper
 * forceSync=yes, etcd fsyncs its WAL). All traffic is on 127.0.0.1; every
 * process and directory is cleaned up through processes.ts.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { CompareError, type Detection, type KilledLeader } from "./types.js";
import { freeLoopbackPorts, isRunning, killHard, spawnTracked, waitUntil } from "./processes.js";

const execFileAsync = promisify(execFile);

export const zooKeeperPaths = {
  jar: "/usr/share/java/zookeeper.jar",
  /** slf4j binding so the servers' warnings land in their log files. */
  loggingJar: "/usr/share/java/slf4j-simple.jar",
  mainClass: "org.apache.zookeeper.server.quorum.QuorumPeerMain",
  java: "java",
} as const;

export const etcdPaths = { binary: "/usr/bin/etcd" } as const;

const healthTimeoutMs = 60_000;
const memberCount = 3;

async function commandOutput(command: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], { timeout: 10_000 });
    return `${stdout}${stderr}`.trim();
  } catch (_error) {
    return undefined;
  }
}

export async function detectZooKeeper(): Promise<Detection> {
  if (!existsSync(zooKeeperPaths.jar)) return { available: false, reason: `${zooKeeperPaths.jar} not found (Debian package zookeeper not installed)` };
  const java = await commandOutput(zooKeeperPaths.java, ["-version"]);
  if (java === undefined) return { available: false, reason: "java not found (ZooKeeper needs a JRE)" };
  const packageVersion = await commandOutput("dpkg-query", ["-W", "-f=${Version}", "zookeeper"]);
  return { available: true, version: packageVersion ?? "unknown", detail: `${zooKeeperPaths.jar}; ${java.split("\n")[0] ?? "java"}` };
}

export async function detectEtcd(): Promise<Detection> {
  if (!existsSync(etcdPaths.binary)) return { available: false, reason: `${etcdPaths.binary} not found (Debian package etcd-server not installed)` };
  const output = await commandOutput(etcdPaths.binary, ["--version"]);
  const version = /etcd Version:\s*(\S+)/.exec(output ?? "")?.[1];
  if (version === undefined) return { available: false, reason: `${etcdPaths.binary} --version failed` };
  return { available: true, version, detail: etcdPaths.binary };
}

/** Sends a ZooKeeper four-letter command and returns the whole reply. */
export function fourLetterWord(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CompareError("PeerNotHealthy", `4lw ${word} on ${port} timed out`));
    }, timeoutMs);
    socket.once("connect", () => socket.write(word));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

const electionPollIntervalMs = 20;
const electionTimeoutMs = 60_000;

/** Polls the survivors until `hasNewLeader`; resolves with the time it first held. */
async function pollForNewLeader(hasNewLeader: () => Promise<boolean>): Promise<bigint | undefined> {
  const elected = await waitUntil(hasNewLeader, electionTimeoutMs, electionPollIntervalMs);
  return elected ? process.hrtime.bigint() : undefined;
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly directory: string;
  process: ChildProcess | undefined;
}

export class ZooKeeperEnsemble {
  private members: Member[] = [];
  reportedVersion = "unknown";

  constructor(
    private readonly workDirectory: string,
    private readonly log: (line: string) => void,
    private readonly heapMaxMb = 512,
  ) {}

  get connectionString(): string {
    return this.members.map((member) => `127.0.0.1:${member.clientPort}`).join(",");
  }

  async start(): Promise<void> {
    const ports = await freeLoopbackPorts(memberCount * 3);
    const port = (index: number): number => {
      const value = ports[index];
      if (value === undefined) throw new CompareError("PeerStartFailed", "port allocation came up short");
      return value;
    };
    const serverLines = Array.from({ length: memberCount }, (_unused, index) =>
      `server.${index + 1}=127.0.0.1:${port(index * 3 + 1)}:${port(index * 3 + 2)}`);
    this.members = Array.from({ length: memberCount }, (_unused, index) => {
      const directory = join(this.workDirectory, `zk${index + 1}`);
      const dataDirectory = join(directory, "data");
      mkdirSync(dataDirectory, { recursive: true });
      writeFileSync(join(dataDirectory, "myid"), `${index + 1}\n`);
      // The Debian package's zoo.cfg timings (tickTime 2000, initLimit 10,
      // syncLimit 5) and ZooKeeper's default durability (forceSync=yes);
      // only ports, paths and the admin/4lw switches are ours.
      writeFileSync(join(directory, "zoo.cfg"), [
        "tickTime=2000",
        "initLimit=10",
        "syncLimit=5",
        `dataDir=${dataDirectory}`,
        `clientPort=${port(index * 3)}`,
        "clientPortAddress=127.0.0.1",
        "forceSync=yes",
        "maxClientCnxns=0",
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr,ruok,mntr",
        ...serverLines,
        "",
      ].join("\n"));
      return { name: `zk${index + 1}`, clientPort: port(index * 3), directory, process: undefined };
    });
    for (const member of this.members) {
      const classPath = existsSync(zooKeeperPaths.loggingJar) ? `${zooKeeperPaths.jar}:${zooKeeperPaths.loggingJar}` : zooKeeperPaths.jar;
      member.process = spawnTracked(zooKeeperPaths.java, [
        `-Xmx${this.heapMaxMb}m`,
        "-Xms64m",
        "-XX:+UseSerialGC", // three JVMs on two cores: no parallel GC threads fighting each other
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        `-Dzookeeper.log.dir=${member.directory}`,
        "-Dzookeeper.jmx.log4j.disable=true",
        "-cp", classPath,
        zooKeeperPaths.mainClass,
        join(member.directory, "zoo.cfg"),
      ], join(member.directory, "server.log"));
    }
    const healthy = await waitUntil(async () => {
      const modes = await this.modes();
      return modes.filter((mode) => mode === "leader").length === 1 && modes.filter((mode) => mode === "follower").length === memberCount - 1;
    }, healthTimeoutMs);
    if (!healthy) throw new CompareError("PeerNotHealthy", `ZooKeeper ensemble not healthy within ${healthTimeoutMs} ms; logs in ${this.workDirectory}`);
    const srvr = await fourLetterWord(this.members[0]?.clientPort ?? 0, "srvr");
    // Debian's build leaves an unexpanded "-${mvngit.commit.id}" suffix: drop it.
    this.reportedVersion = (/Zookeeper version:\s*([^,\s]+)/.exec(srvr)?.[1] ?? "unknown").replace(/-\$\{.*\}$/, "");
    this.log(`zookeeper: 3 members up (${this.connectionString}), version ${this.reportedVersion}`);
  }

  /** Each member's `Mode:` from `srvr` ("leader", "follower", or "down"). */
  async modes(): Promise<string[]> {
    return Promise.all(this.members.map(async (member) => {
      if (member.process === undefined || !isRunning(member.process)) return "down";
      const reply = await fourLetterWord(member.clientPort, "srvr").catch(() => "");
      return /Mode:\s*(\w+)/.exec(reply)?.[1] ?? "down";
    }));
  }

  async killLeader(): Promise<KilledLeader> {
    const modes = await this.modes();
    const leader = this.members[modes.indexOf("leader")];
    if (leader?.process === undefined) throw new CompareError("LeaderNotFound", `no ZooKeeper leader among ${modes.join(",")}`);
    const killedAtNs = process.hrtime.bigint();
    await killHard(leader.process);
    this.log(`zookeeper: killed leader ${leader.name} (kill -9)`);
    const newLeaderElected = pollForNewLeader(async () => (await this.modes()).includes("leader"));
    return { member: leader.name, killedAtNs, newLeaderElected };
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map(async (member) => {
      if (member.process !== undefined) await killHard(member.process);
    }));
  }
}

interface EtcdMember extends Member {
  readonly peerPort: number;
}

interface EtcdStatus {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
  readonly version?: string;
}

export class EtcdCluster {
  private members: EtcdMember[] = [];
  reportedVersion = "unknown";

  constructor(
    private readonly workDirectory: string,
    private readonly log: (line: string) => void,
  ) {}

  get endpoints(): string[] {
    return this.members.map((member) => `http://127.0.0.1:${member.clientPort}`);
  }

  async start(): Promise<void> {
    const ports = await freeLoopbackPorts(memberCount * 2);
    this.members = Array.from({ length: memberCount }, (_unused, index) => {
      const clientPort = ports[index * 2];
      const peerPort = ports[index * 2 + 1];
      if (clientPort === undefined || peerPort === undefined) throw new CompareError("PeerStartFailed", "port allocation came up short");
      const directory = join(this.workDirectory, `etcd${index + 1}`);
      mkdirSync(directory, { recursive: true });
      return { name: `etcd${index + 1}`, clientPort, peerPort, directory, process: undefined };
    });
    const initialCluster = this.members.map((member) => `${member.name}=http://127.0.0.1:${member.peerPort}`).join(",");
    const token = `corral-bench-${process.pid}-${this.members[0]?.clientPort ?? 0}`;
    for (const member of this.members) {
      // etcd's defaults otherwise (heartbeat 100 ms, election 1000 ms, WAL fsync on).
      member.process = spawnTracked(etcdPaths.binary, [
        "--name", member.name,
        "--data-dir", join(member.directory, "data"),
        "--listen-client-urls", `http://127.0.0.1:${member.clientPort}`,
        "--advertise-client-urls", `http://127.0.0.1:${member.clientPort}`,
        "--listen-peer-urls", `http://127.0.0.1:${member.peerPort}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${member.peerPort}`,
        "--initial-cluster", initialCluster,
        "--initial-cluster-token", token,
        "--initial-cluster-state", "new",
        "--logger", "zap",
        "--log-outputs", "stderr",
        "--log-level", "warn",
      ], join(member.directory, "server.log"));
    }
    const healthy = await waitUntil(async () => {
      const statuses = await this.statuses();
      const leaders = new Set(statuses.map((status) => status?.leader).filter((leader) => leader !== undefined && leader !== "0"));
      const healths = await Promise.all(this.members.map((member) => this.healthy(member)));
      return leaders.size === 1 && statuses.every((status) => status !== undefined) && healths.every(Boolean);
    }, healthTimeoutMs);
    if (!healthy) throw new CompareError("PeerNotHealthy", `etcd cluster not healthy within ${healthTimeoutMs} ms; logs in ${this.workDirectory}`);
    this.reportedVersion = (await this.statuses()).find((status) => status?.version !== undefined)?.version ?? "unknown";
    this.log(`etcd: 3 members up (${this.endpoints.join(",")}), version ${this.reportedVersion}`);
  }

  private async healthy(member: EtcdMember): Promise<boolean> {
    if (member.process === undefined || !isRunning(member.process)) return false;
    const response = await fetch(`http://127.0.0.1:${member.clientPort}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (response === undefined || !response.ok) return false;
    const body = (await response.json().catch(() => ({}))) as { health?: string };
    return body.health === "true";
  }

  /** The v3 maintenance status of each member (through the gRPC gateway); undefined when down. */
  async statuses(): Promise<Array<EtcdStatus | undefined>> {
    return Promise.all(this.members.map(async (member) => {
      if (member.process === undefined || !isRunning(member.process)) return undefined;
      const response = await fetch(`http://127.0.0.1:${member.clientPort}/v3/maintenance/status`, {
        method: "POST",
        body: "{}",
        signal: AbortSignal.timeout(2_000),
      }).catch(() => undefined);
      if (response === undefined || !response.ok) return undefined;
      return (await response.json().catch(() => undefined)) as EtcdStatus | undefined;
    }));
  }

  async killLeader(): Promise<KilledLeader> {
    const statuses = await this.statuses();
    const leaderIndex = statuses.findIndex((status) => status?.header?.member_id !== undefined && status.header.member_id === status.leader);
    const leader = this.members[leaderIndex];
    if (leader?.process === undefined) throw new CompareError("LeaderNotFound", "no etcd member reports itself as leader");
    const killedAtNs = process.hrtime.bigint();
    const killedId = statuses[leaderIndex]?.header?.member_id;
    await killHard(leader.process);
    this.log(`etcd: killed leader ${leader.name} (kill -9)`);
    const newLeaderElected = pollForNewLeader(async () => (await this.statuses()).some((status) =>
      status?.leader !== undefined && status.leader !== "0" && status.leader !== killedId && status.leader === status.header?.member_id));
    return { member: leader.name, killedAtNs, newLeaderElected };
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map(async (member) => {
      if (member.process !== undefined) await killHard(member.process);
    }));
  }
}
