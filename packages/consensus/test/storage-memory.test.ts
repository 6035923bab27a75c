import { SeededRandom } from "@corral/actors";
import { describe, expect, it } from "vitest";
import { EntryType, MemoryDurableLog, MemoryLogUnavailableError, type Entry } from "../src/index.js";

const e = (index: number, term = 1): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });

describe("MemoryDurableLog", () => {
  it("a crash loses writes that were not synced, keeps those that were", async () => {
    const log = new MemoryDurableLog({ autoSync: false });
    const t1 = log.write({ hardState: { term: 1, vote: "a", commit: 0 }, entries: [e(1), e(2)] });
    log.syncThrough(t1);
    log.write({ hardState: { term: 2, vote: "b", commit: 2 }, entries: [e(3, 2)] });
    log.crash({ loseUnsynced: true });
    const r = await log.load();
    expect(r.hardState).toEqual({ term: 1, vote: "a", commit: 0 });
    expect(r.entries.map((x) => x.index)).toEqual([1, 2]);
  });

  it("a torn tail keeps a prefix of the unsynced batch's records but not its hard state", () => {
    const log = new MemoryDurableLog({ autoSync: false });
    log.write({ hardState: { term: 1, vote: null, commit: 0 }, entries: [e(1), e(2), e(3), e(4)] });
    log.crash({ loseUnsynced: true, tornTail: true });
    const r = log.recovered();
    expect(r.entries.map((x) => x.index)).toEqual([1, 2, 3]);
    expect(r.hardState).toBeNull();
    const log2 = new MemoryDurableLog({ autoSync: false });
    log2.write({ entries: [e(1), e(2), e(3), e(4)] });
    log2.crash({ loseUnsynced: true, tornTail: true, random: new SeededRandom(5) });
    expect(log2.recovered().entries.length).toBeLessThan(4);
  });

  it("a batch starting inside the stored log replaces the suffix (conflict truncation)", () => {
    const log = new MemoryDurableLog();
    log.write({ entries: [e(1), e(2), e(3)] });
    log.write({ entries: [e(2, 2)] });
    log.syncAll();
    expect(log.recovered().entries.map((x) => [x.index, x.term])).toEqual([[1, 1], [2, 2]]);
  });

  it("saveSnapshot drops covered entries, keeps a matching suffix, drops a non-matching one", async () => {
    const log = new MemoryDurableLog();
    await log.save({ entries: [e(1), e(2), e(3)] });
    await log.saveSnapshot({ meta: { index: 2, term: 1, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array([9]) });
    expect(log.recovered().entries.map((x) => x.index)).toEqual([3]);
    await log.saveSnapshot({ meta: { index: 5, term: 3, conf: { voters: ["a"], learners: [] } }, data: new Uint8Array([9]) });
    expect(log.recovered().entries).toEqual([]);
    expect(log.recovered().snapshot?.meta.index).toBe(5);
  });

  it("save() resolves once synced (autoSync), and the pending-write bound is a typed error", async () => {
    const log = new MemoryDurableLog({ autoSync: false, maxPendingWrites: 1 });
    log.write({ entries: [e(1)] });
    expect(() => log.write({ entries: [e(2)] })).toThrow(MemoryLogUnavailableError);
    await expect(log.save({ entries: [e(2)] })).rejects.toBeInstanceOf(MemoryLogUnavailableError);
    const auto = new MemoryDurableLog();
    await auto.save({ hardState: { term: 3, vote: null, commit: 0 }, entries: [] });
    expect(auto.recovered().hardState?.term).toBe(3);
  });
});
