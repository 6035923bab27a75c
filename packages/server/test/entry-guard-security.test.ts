/**
 * Guards around the log (issue 13): a committed entry a replica cannot decode
 * stops the replica with a bounded bug report (index, term, reason, sha256,
 * base64 head) instead of being skipped; session secrets never reach the log
 * or a snapshot (only their SHA-256 does); a storage failure logs its cause
 * before the node stops.
 *
 * One node on a SimScheduler with a durable log the test can read and seed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { InMemoryNetwork, SeededRandom, SimScheduler, simulationKeyring, type Logger } from "@corral/actors";
import { EntryType, MemoryDurableLog, StorageFailedError, type DurableBatch, type DurableLog, type Entry } from "@corral/consensus";
import { CreateMode, OPEN_ACL_UNSAFE, encodeTxn } from "@corral/protocol";
import { NodeInvariantViolation, corruptEntryReport, createNode, decodeEntryData, encodeEntryData, entropyFromRandom, type CorralNode, type NodeConfig } from "@corral/server";
import { CORRUPT_ENTRY_REPORT_BYTES } from "../src/entry-data.js";
import { SessionDriver } from "./support/session-driver.js";

interface LogRecord {
  readonly level: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A Logger that keeps every record, bindings merged in. */
function recordingLogger(records: LogRecord[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: LogRecord["level"]) =>
    (obj: object, message?: string): void =>
      void records.push({ level, fields: { ...bindings, ...(obj as Record<string, unknown>) }, message });
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
    child: (more) => recordingLogger(records, { ...bindings, ...more }),
  };
}

interface OneNode {
  readonly sim: SimScheduler;
  readonly node: CorralNode;
  readonly network: InMemoryNetwork;
  /** Run events until `predicate` holds or `maxMs` of simulated time pass; a throw from an actor comes out here. */
  runUntil(predicate: () => boolean, maxMs?: number): Promise<boolean>;
}

async function drain(): Promise<void> {
  for (let i = 0; i < 16; i++) await Promise.resolve();
}

async function startOneNode(durableLog: DurableLog, logger: Logger, config: Partial<NodeConfig> = {}, onFatal?: (error: unknown) => void): Promise<OneNode> {
  const sim = new SimScheduler(1313);
  const network = new InMemoryNetwork(sim, { latencyMsMin: 1, latencyMsMax: 2 });
  const node = await createNode(
    { nodeId: "n1", peers: ["n1"], ...config },
    {
      clock: sim.clockFor("n1"),
      random: sim.random.fork("node:n1"),
      network,
      logger,
      executor: sim.schedule,
      durableLog,
      peerAuth: { keyring: simulationKeyring(1313), epoch: 1 },
      entropy: entropyFromRandom(new SeededRandom(1313).fork("entropy")),
      ...(onFatal === undefined ? {} : { onFatal }),
    },
  );
  const runUntil = async (predicate: () => boolean, maxMs = 10_000): Promise<boolean> => {
    const until = sim.now() + maxMs;
    for (;;) {
      await drain();
      if (predicate()) return true;
      if (sim.now() >= until || !sim.step()) {
        await drain();
        return predicate();
      }
    }
  };
  return { sim, node, network, runUntil };
}

const encoder = new TextEncoder();

describe("a committed entry that does not decode", () => {
  it("stops the replica with a bug report (index, term, reason, sha256, bounded base64 head), on replay too, and applies nothing after it", async () => {
    // The poison: an entry whose auth id is longer than the codec's limit, as an unchecked leader proposed it.
    const poison = encodeEntryData({
      timeMs: 1,
      txn: { type: "request", sessionId: 1, seq: 1, auth: [{ scheme: "digest", id: `${"u".repeat(1000)}:${"h".repeat(28)}` }], op: { type: "create", path: "/x", data: new Uint8Array(0), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent } },
    });
    expect(poison.byteLength).toBeGreaterThan(CORRUPT_ENTRY_REPORT_BYTES);
    const ok = encodeEntryData({ timeMs: 1, txn: { type: "noop" } });
    const entries: Entry[] = [
      { index: 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) },
      { index: 2, term: 1, type: EntryType.Normal, data: ok },
      { index: 3, term: 1, type: EntryType.Normal, data: poison },
      { index: 4, term: 1, type: EntryType.Normal, data: ok },
    ];
    const log = new MemoryDurableLog();
    await log.save({ hardState: { term: 1, vote: "n1", commit: 4 }, entries });

    for (const run of ["first start", "restart"]) {
      const records: LogRecord[] = [];
      const one = await startOneNode(log, recordingLogger(records));
      let thrown: unknown;
      try {
        await one.runUntil(() => false, 2_000);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, run).toBeInstanceOf(NodeInvariantViolation);
      expect(String((thrown as Error).message)).toContain("committed entry 3");
      // Stopped on the entry rather than skipping it: entry 4 was never applied.
      expect(one.node.status().appliedIndex).toBeLessThan(4);
      const report = records.find((record) => record.level === "fatal" && record.fields["index"] === 3);
      expect(report, run).toBeDefined();
      const fields = report!.fields;
      expect(fields).toMatchObject({ index: 3, term: 1, bytes: poison.byteLength, truncated: true, sha256: createHash("sha256").update(poison).digest("hex") });
      expect(String(fields["reason"])).toMatch(/auth/);
      const head = Buffer.from(String(fields["headBase64"]), "base64");
      expect(head.byteLength).toBe(CORRUPT_ENTRY_REPORT_BYTES);
      expect(Buffer.compare(head, Buffer.from(poison.subarray(0, CORRUPT_ENTRY_REPORT_BYTES)))).toBe(0);
      expect(report!.message).toMatch(/BUG/);
      await one.node.stop().catch(() => undefined);
    }
  });

  it("corruptEntryReport: a short entry is reported whole, not truncated", () => {
    const data = encoder.encode("{not json");
    const report = corruptEntryReport({ index: 9, term: 2, data }, "not UTF-8 JSON");
    expect(report).toMatchObject({ index: 9, term: 2, reason: "not UTF-8 JSON", bytes: data.byteLength, truncated: false });
    expect(Buffer.from(String(report["headBase64"]), "base64").toString("utf8")).toBe("{not json");
  });
});

describe("session secrets", () => {
  it("never appear in a log entry or a snapshot: createSession carries only their SHA-256", async () => {
    const log = new MemoryDurableLog();
    const one = await startOneNode(log, recordingLogger([]), { snapshotEveryEntries: 3 });
    expect(await one.runUntil(() => one.node.status().role === "leader")).toBe(true);
    const secrets: string[] = [];
    for (let i = 0; i < 3; i++) {
      const client = new SessionDriver(`c-secret-${i}`, { network: one.network, clock: one.sim.clockFor(`c${i}`), random: one.sim.random.fork(`c${i}`), logger: recordingLogger([]) });
      await client.open();
      client.connect("n1");
      expect(await one.runUntil(() => client.connected)).toBe(true);
      client.send({ type: "create", path: `/s${i}`, data: new Uint8Array(1), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Ephemeral });
      expect(await one.runUntil(() => client.received.some((m) => m.type === "response"))).toBe(true);
      // At least 128 bits: 32 bytes of entropy in its text form.
      expect(client.secret!.length).toBeGreaterThanOrEqual(32);
      secrets.push(client.secret!);
    }
    expect(await one.runUntil(() => log.recovered().snapshot !== null)).toBe(true);
    const recovered = log.recovered();
    const createSessions = recovered.entries.flatMap((entry) => {
      if (entry.type !== EntryType.Normal) return [];
      const data = decodeEntryData(entry.data);
      return "txn" in data && data.txn.type === "createSession" ? [data.txn] : [];
    });
    const hashes = secrets.map((secret) => createHash("sha256").update(secret, "utf8").digest("hex"));
    // Entries up to the snapshot may be compacted away; those still in the log carry hashes only.
    for (const txn of createSessions) expect(hashes).toContain(txn.secretHash);
    const haystacks = [...recovered.entries.map((entry) => Buffer.from(entry.data)), Buffer.from(recovered.snapshot!.data)];
    for (const secret of secrets) {
      const forms = [secret, Buffer.from(secret, "utf8").toString("base64"), Buffer.from(secret, "utf8").toString("hex")];
      for (const haystack of haystacks) for (const form of forms) expect(haystack.includes(form)).toBe(false);
    }
    // Every session is there, by its hash: in the snapshot (what an attach is checked against) or a later entry.
    for (const hash of hashes) expect(Buffer.from(recovered.snapshot!.data).includes(hash) || createSessions.some((txn) => txn.secretHash === hash)).toBe(true);
    // And the createSession codec has no field a secret could ride in.
    expect(Object.keys(encodeTxn({ type: "createSession", sessionId: 1, timeoutMs: 1, secretHash: hashes[0]! }) as object).sort()).toEqual(["secretHash", "sessionId", "timeoutMs", "type"]);
    await one.node.stop();
  });
});

/** A durable log whose saves fail with ENOSPC after `failAfter` successful ones, like a full disk. */
class FullDisk implements DurableLog {
  saves = 0;
  private readonly inner = new MemoryDurableLog();
  constructor(private readonly failAfter: number) {}
  load() {
    return this.inner.load();
  }
  save(batch: DurableBatch): Promise<void> {
    if (++this.saves > this.failAfter) {
      const cause = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return Promise.reject(new StorageFailedError("append", { cause }));
    }
    return this.inner.save(batch);
  }
  saveSnapshot(...args: Parameters<DurableLog["saveSnapshot"]>) {
    return this.inner.saveSnapshot(...args);
  }
  compact(index: number) {
    return this.inner.compact(index);
  }
  close() {
    return this.inner.close();
  }
}

describe("a storage failure", () => {
  it("logs its cause (ENOSPC) at fatal before the node stops and reports itself fatal", async () => {
    const records: LogRecord[] = [];
    let fatalAt = -1;
    let fatalError: unknown;
    const disk = new FullDisk(0);
    const one = await startOneNode(disk, recordingLogger(records), {}, (error) => {
      fatalAt = records.length;
      fatalError = error;
    });
    expect(await one.runUntil(() => fatalError !== undefined, 5_000)).toBe(true);
    const causeLogged = records.findIndex((record) => record.level === "fatal" && JSON.stringify(record.fields).includes("ENOSPC"));
    expect(causeLogged).toBeGreaterThanOrEqual(0);
    expect(causeLogged).toBeLessThan(fatalAt);
    expect(String(records[causeLogged]!.fields["error"])).toMatch(/durable log failed during append.*ENOSPC: no space left on device/);
    expect(String(fatalError)).toContain("ENOSPC");
    expect(one.node.stopped).toBe(true);
  });
});
