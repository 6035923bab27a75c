import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError, EnsembleFileInvalid, EnsembleNotFound, decodeStatus, formatStatusTable, readEnsembleFile, removeEnsembleFile, resolveNodeCommandConfig, runCli, summarize, writeEnsembleFile, type EnsembleRecord } from "@corral/cli";

const base = { id: "n1", peers: "n1,n2,n3", redis: "redis://127.0.0.1:6379" };
const dir = mkdtempSync(join(tmpdir(), "corral-cli-config-"));

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("corral node config", () => {
  it("fills defaults from flags alone", () => {
    expect(resolveNodeCommandConfig(base, {})).toEqual({
      nodeId: "n1",
      peers: ["n1", "n2", "n3"],
      clusterName: "corral",
      redisUrl: "redis://127.0.0.1:6379",
      clusterKeyFile: null,
      dataDir: ".corral/n1",
      adminHost: "127.0.0.1",
      adminPort: 0,
      adminTokenFile: null,
      clientPort: 0,
      clientHost: "127.0.0.1",
      fsync: "always",
      testMode: false,
      logLevel: "info",
      tuning: {},
    });
  });

  it("takes the ZooKeeper client port from --client-port / CORRAL_CLIENT_PORT; a single-node ensemble defaults to 2181", () => {
    expect(resolveNodeCommandConfig({ ...base, peers: "n1" }, {})).toMatchObject({ clientPort: 2181, clientHost: "127.0.0.1" });
    expect(resolveNodeCommandConfig(base, { CORRAL_CLIENT_PORT: "2281" })).toMatchObject({ clientPort: 2281 });
    expect(resolveNodeCommandConfig({ ...base, "client-port": "2381", "client-host": "0.0.0.0" }, { CORRAL_CLIENT_PORT: "2281" })).toMatchObject({ clientPort: 2381, clientHost: "0.0.0.0" });
    expect(() => resolveNodeCommandConfig({ ...base, "client-port": "70000" }, {})).toThrow(/--client-port/);
  });

  it("flags win over env, env over the file", () => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify({ id: "n2", peers: ["n1", "n2"], cluster: "from-file", redis: "redis://file:1", adminPort: 7000, tickMs: 20, electionTicks: 20 }));
    const config = resolveNodeCommandConfig({ config: file, cluster: "from-flag" }, { CORRAL_ID: "n1", CORRAL_ADMIN_PORT: "7100" });
    expect(config).toMatchObject({ nodeId: "n1", peers: ["n1", "n2"], clusterName: "from-flag", redisUrl: "redis://file:1", adminPort: 7100, tuning: { tickMs: 20, electionTicks: 20 } });
  });

  it("takes the cluster key file's path (never a key) from a flag, CORRAL_CLUSTER_KEY_FILE or clusterKeyFile in the file", () => {
    const file = join(dir, "keyed.json");
    writeFileSync(file, JSON.stringify({ clusterKeyFile: "/from/file.key" }));
    expect(resolveNodeCommandConfig({ ...base, config: file }, {}).clusterKeyFile).toBe("/from/file.key");
    expect(resolveNodeCommandConfig({ ...base, config: file }, { CORRAL_CLUSTER_KEY_FILE: "/from/env.key" }).clusterKeyFile).toBe("/from/env.key");
    expect(resolveNodeCommandConfig({ ...base, config: file, "cluster-key-file": "/from/flag.key" }, { CORRAL_CLUSTER_KEY_FILE: "/from/env.key" }).clusterKeyFile).toBe("/from/flag.key");
  });

  it("names where a bad value came from", () => {
    expect(configError(() => resolveNodeCommandConfig({ ...base, id: undefined }, {})).message).toBe('--id: required (or set CORRAL_ID, or "id" in the config file)');
    expect(configError(() => resolveNodeCommandConfig({ ...base, peers: "n2,n3" }, {})).source).toBe("--peers");
    expect(configError(() => resolveNodeCommandConfig({ ...base, peers: undefined }, { CORRAL_PEERS: "n1,n1" })).message).toBe("CORRAL_PEERS: duplicate node ids");
    expect(configError(() => resolveNodeCommandConfig({ ...base, redis: "http://x" }, {})).message).toMatch(/^--redis: "http:\/\/x" must start with redis:\/\//);
    expect(configError(() => resolveNodeCommandConfig({ ...base, "admin-port": "70000" }, {})).source).toBe("--admin-port");
    expect(configError(() => resolveNodeCommandConfig({ ...base, "log-level": "loud" }, {})).source).toBe("--log-level");
    expect(configError(() => resolveNodeCommandConfig({ ...base, fsync: "sometimes" }, {})).source).toBe("--fsync");
    expect(configError(() => resolveNodeCommandConfig({ ...base, id: "bad id!" }, {})).source).toBe("--id");
  });

  it("rejects unreadable, malformed and unknown-key config files", () => {
    expect(configError(() => resolveNodeCommandConfig({ ...base, config: join(dir, "missing.json") }, {})).reason).toMatch(/cannot read it \(ENOENT\)/);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    expect(configError(() => resolveNodeCommandConfig({ ...base, config: broken }, {})).reason).toMatch(/^not valid JSON/);
    const typo = join(dir, "typo.json");
    writeFileSync(typo, JSON.stringify({ tickMS: 5 }));
    expect(configError(() => resolveNodeCommandConfig({ ...base, config: typo }, {})).source).toBe(`config file ${typo}: tickMS`);
    const badTuning = join(dir, "tuning.json");
    writeFileSync(badTuning, JSON.stringify({ heartbeatTicks: 50 }));
    expect(configError(() => resolveNodeCommandConfig({ ...base, config: badTuning }, {})).message).toBe(`${badTuning}: heartbeatTicks: must be less than electionTicks`);
  });
});

describe("ensemble.json", () => {
  const record: EnsembleRecord = {
    version: 1,
    cluster: "local",
    redisUrl: "redis://127.0.0.1:6379",
    nodes: [{ id: "n1", adminUrl: "http://127.0.0.1:7101", pid: 4242 }],
    upPid: 4241,
    redisPid: null,
    startedAt: "2025-01-01T00:00:00.000Z",
  };
  it("round-trips, and is gone after remove", () => {
    const data = mkdtempSync(join(dir, "data-"));
    writeEnsembleFile(data, record);
    expect(readEnsembleFile(data)).toEqual(record);
    removeEnsembleFile(data);
    expect(() => readEnsembleFile(data)).toThrow(EnsembleNotFound);
  });
  it("refuses a malformed record naming the field", () => {
    const data = mkdtempSync(join(dir, "bad-"));
    writeFileSync(join(data, "ensemble.json"), JSON.stringify({ ...record, nodes: [{ id: "n1", adminUrl: "ftp://x", pid: 1 }] }));
    expect(() => readEnsembleFile(data)).toThrow(/nodes\[0\]\.adminUrl must be an http:\/\/ URL/);
    writeFileSync(join(data, "ensemble.json"), "[");
    expect(() => readEnsembleFile(data)).toThrow(EnsembleFileInvalid);
  });
});

describe("status verdict", () => {
  const row = (id: string, body: unknown) => ({ id, adminUrl: `http://127.0.0.1/${id}`, status: decodeStatus(body) });
  const leader = { role: "leader", term: 2, leader: "n1", commitIndex: 9, appliedIndex: 9, sessions: 1, peers: [{ id: "n2", lag: 0 }, { id: "n3", lag: 4 }] };
  const follower = { role: "follower", term: 2, leader: "n1", commitIndex: 9, appliedIndex: 8, sessions: 1, peers: [] };
  it("healthy with a leader and a majority", () => {
    const status = summarize([row("n1", leader), row("n2", follower), { id: "n3", adminUrl: "x", status: null, error: "ECONNREFUSED" }]);
    expect(status).toMatchObject({ leader: "n1", healthyCount: 2, healthy: true });
    const table = formatStatusTable(status);
    expect(table[1]).toMatch(/^n1\s+leader\s+2\s+n1\s+9\s+9\s+0\s+1/);
    expect(table[3]).toMatch(/^n3\s+down \(ECONNREFUSED\)/);
    expect(table.at(-1)).toBe("healthy: leader n1, 2/3 nodes up");
  });
  it("unhealthy without a leader or without a majority", () => {
    expect(summarize([row("n1", follower), row("n2", follower), row("n3", follower)]).healthy).toBe(false);
    expect(summarize([row("n1", leader), { id: "n2", adminUrl: "x", status: null }, { id: "n3", adminUrl: "x", status: null }]).healthy).toBe(false);
    expect(decodeStatus({ nope: 1 })).toBeNull();
  });
});

describe("runCli", () => {
  const io = () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = "";
    let err = "";
    stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    return { cli: { stdin: new PassThrough(), stdout, stderr, env: {} }, out: () => out, err: () => err };
  };
  it("exit codes: usage 2, missing ensemble 1 (status and bench), help 0", async () => {
    const a = io();
    expect(await runCli(["frob"], a.cli)).toBe(2);
    expect(a.err()).toMatch(/^corral frob: unknown command "frob"\n\nusage: corral <command>/);
    const b = io();
    expect(await runCli(["status", "--data", join(dir, "none")], b.cli)).toBe(1);
    expect(b.err()).toMatch(/no running ensemble recorded at .*ensemble\.json/);
    const c = io();
    expect(await runCli(["bench", "--data", join(dir, "none")], c.cli)).toBe(1);
    expect(c.err()).toMatch(/cannot read .*ensemble\.json/);
    expect(await runCli(["help"], io().cli)).toBe(0);
    const d = io();
    expect(await runCli(["up", "--nodes", "9"], d.cli)).toBe(2);
    expect(d.err()).toMatch(/--nodes expects 1-7/);
    const e = io();
    expect(await runCli(["node", "--id", "n1"], e.cli)).toBe(2);
    expect(e.err()).toMatch(/--peers: required/);
    const f = io();
    expect(await runCli(["shell", "--cluster", "x"], f.cli)).toBe(2);
  });
});
