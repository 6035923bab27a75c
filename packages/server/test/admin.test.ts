import { describe, expect, it } from "vitest";
import { InvalidNodeConfig, resolveNodeConfig, startAdminServer, validateRunNodeConfig } from "@corral/server";
import { nullLogger } from "@corral/actors";
import { awaitResponse, connectedClient, create, ensembleWithLeader } from "./helpers.js";

describe("admin HTTP", () => {
  it("serves /health, /status and Prometheus /metrics for a node", async () => {
    const ensemble = await ensembleWithLeader({ seed: 101 });
    const leader = ensemble.leader()!;
    const client = await connectedClient(ensemble, "metrics", leader.id);
    const admin = await startAdminServer({ node: leader, port: 0, logger: nullLogger });
    try {
      await awaitResponse(ensemble, client, client.send(create("/m", "")));
      await ensemble.converge();
      expect(admin.url.startsWith("http://127.0.0.1:")).toBe(true);
      const health = await fetch(`${admin.url}/health`);
      expect(health.status).toBe(200);
      const status = (await (await fetch(`${admin.url}/status`)).json()) as { role: string; term: number; digest: string; peers: { id: string; lag: number }[] };
      expect(status.role).toBe("leader");
      expect(status.peers).toHaveLength(2);
      expect(status.digest).toBe(leader.status().digest);
      const metrics = await (await fetch(`${admin.url}/metrics`)).text();
      expect(metrics).toContain("corral_raft_is_leader");
      expect(metrics).toMatch(/corral_requests_total\{op="create"[^}]*\} 1/);
      expect(metrics).toContain("corral_request_duration_seconds_bucket");
      expect((await fetch(`${admin.url}/nope`)).status).toBe(404);
    } finally {
      await admin.close();
      await ensemble.close();
    }
  });
});

describe("node configuration", () => {
  it("names the offending field", () => {
    const base = { nodeId: "n1", peers: "n1,n2,n3", redisUrl: "redis://127.0.0.1:6379", dataDir: "/tmp/x" };
    expect(validateRunNodeConfig(base).peers).toEqual(["n1", "n2", "n3"]);
    const fieldOf = (input: unknown): string => {
      try {
        validateRunNodeConfig(input);
        return "none";
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidNodeConfig);
        return (error as InvalidNodeConfig).field;
      }
    };
    expect(fieldOf({ ...base, redisUrl: "http://x" })).toBe("redisUrl");
    expect(fieldOf({ ...base, peers: "n2,n3" })).toBe("peers");
    expect(fieldOf({ ...base, adminPort: 70000 })).toBe("adminPort");
    expect(fieldOf({ ...base, dataDir: "" })).toBe("dataDir");
    expect(fieldOf({ ...base, tuning: { minSessionTimeoutMs: 10 } })).toBe("minSessionTimeoutMs");
    expect(fieldOf({ ...base, fsync: "sometimes" })).toBe("fsync");
    expect(() => resolveNodeConfig({ nodeId: "bad id!", peers: ["bad id!"] })).toThrow(InvalidNodeConfig);
  });
});
