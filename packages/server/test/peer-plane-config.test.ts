/**
 * The live node's peer-plane configuration: the key file (read from a file
 * only, refused when missing on a Redis network), the incarnation epoch in
 * the data directory, and a failed start leaving nothing behind.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatClusterKeyLine, nullLogger } from "@corral/actors";
import { ClusterKeyFileUnusable, ClusterKeyRequired, INCARNATION_FILE, IncarnationFileInvalid, loadClusterKeyFile, nextIncarnation, runNode, validateRunNodeConfig } from "@corral/server";

const root = mkdtempSync(join(tmpdir(), "corral-peer-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const keyLine = (id: string, fill: number): string => formatClusterKeyLine({ id, secret: new Uint8Array(32).fill(fill) });

describe("cluster key file", () => {
  it("loads keys (first signs) and warns, without refusing, when others may read the file", () => {
    const file = join(root, "good.key");
    writeFileSync(file, `${keyLine("k2", 2)}\n${keyLine("k1", 1)}\n`, { mode: 0o600 });
    const loaded = loadClusterKeyFile(file);
    expect(loaded.keyring.signingKeyId).toBe("k2");
    expect(loaded.keyring.keyIds).toEqual(["k2", "k1"]);
    expect(loaded.permissionWarning).toBeUndefined();
    chmodSync(file, 0o644);
    expect(loadClusterKeyFile(file).permissionWarning).toMatch(/chmod 600/);
  });

  it("refuses a missing, empty or malformed file with a typed error naming the path", () => {
    const missing = join(root, "missing.key");
    const empty = join(root, "empty.key");
    const short = join(root, "short.key");
    writeFileSync(empty, "\n", { mode: 0o600 });
    writeFileSync(short, `k1:${Buffer.alloc(8).toString("base64")}\n`, { mode: 0o600 });
    for (const [file, pattern] of [
      [missing, /cannot open it \(ENOENT\)/],
      [empty, /no keys/],
      [short, /line 1: the key has 8 bytes/],
      [root, /not a regular file/],
    ] as const) {
      let error: unknown;
      try {
        loadClusterKeyFile(file);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ClusterKeyFileUnusable);
      expect((error as ClusterKeyFileUnusable).code).toBe("CLUSTER_KEY_FILE_UNUSABLE");
      expect((error as ClusterKeyFileUnusable).path).toBe(file);
      expect((error as Error).message).toMatch(pattern);
    }
  });
});

describe("incarnation epoch", () => {
  it("rises at every start, never below the wall-clock floor, and is durable in the data directory", () => {
    const dir = join(root, "node-a");
    expect(nextIncarnation(dir, 0)).toBe(1);
    expect(nextIncarnation(dir, 0)).toBe(2);
    // A wiped or copied directory still rises when the clock says so.
    expect(nextIncarnation(dir, 1_800_000_000)).toBe(1_800_000_000);
    expect(nextIncarnation(dir, 1_700_000_000)).toBe(1_800_000_001);
    expect(readFileSync(join(dir, INCARNATION_FILE), "utf8")).toBe("1800000001\n");
    expect(statSync(join(dir, INCARNATION_FILE)).mode & 0o777).toBe(0o600);
  });

  it("refuses a corrupt file rather than guess an epoch peers might take for a replay", () => {
    const dir = join(root, "node-b");
    nextIncarnation(dir, 0);
    writeFileSync(join(dir, INCARNATION_FILE), "garbage\n");
    expect(() => nextIncarnation(dir, 0)).toThrow(IncarnationFileInvalid);
    writeFileSync(join(dir, INCARNATION_FILE), "4294967296\n");
    expect(() => nextIncarnation(dir, 0)).toThrow(IncarnationFileInvalid);
  });
});

describe("runNode without a key file", () => {
  const base = { nodeId: "n1", peers: ["n1", "n2", "n3"], clusterName: "keyless", redisUrl: "redis://127.0.0.1:1", adminPort: null, logLevel: "silent" };

  it("takes the key file path from the config", () => {
    expect(validateRunNodeConfig({ ...base, dataDir: join(root, "v"), clusterKeyFile: "/etc/corral/cluster.key" }).clusterKeyFile).toBe("/etc/corral/cluster.key");
    expect(validateRunNodeConfig({ ...base, dataDir: join(root, "v") }).clusterKeyFile).toBeNull();
  });

  it("refuses to start on a Redis network with ClusterKeyRequired, before touching the data directory or Redis", async () => {
    const dataDir = join(root, "refused");
    await expect(runNode({ ...base, dataDir }, { logger: nullLogger })).rejects.toBeInstanceOf(ClusterKeyRequired);
    await expect(runNode({ ...base, dataDir }, { logger: nullLogger })).rejects.toMatchObject({ code: "CLUSTER_KEY_REQUIRED", message: expect.stringMatching(/--cluster-key-file/) });
    expect(() => statSync(dataDir)).toThrow();
  });

  it("refuses an unusable key file the same way", async () => {
    await expect(runNode({ ...base, dataDir: join(root, "refused2"), clusterKeyFile: join(root, "nope.key") }, { logger: nullLogger })).rejects.toBeInstanceOf(ClusterKeyFileUnusable);
  });
});
