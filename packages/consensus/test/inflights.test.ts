import { describe, expect, it } from "vitest";
import { Inflights, InvariantViolation, majorityCommitted, VoteResult } from "../src/index.js";
import { jointVoteResult } from "../src/quorum.js";

describe("Inflights (etcd tracker/inflights.go)", () => {
  it.each([
    { maxCount: 3, maxBytes: 0, adds: [[1, 10], [2, 10], [3, 10]], full: true },
    { maxCount: 3, maxBytes: 0, adds: [[1, 10], [2, 10]], full: false },
    { maxCount: 10, maxBytes: 25, adds: [[1, 10], [2, 10]], full: false },
    { maxCount: 10, maxBytes: 25, adds: [[1, 10], [2, 10], [3, 10]], full: true },
  ])("count $maxCount bytes $maxBytes after $adds: full=$full", ({ maxCount, maxBytes, adds, full }) => {
    const w = new Inflights(maxCount, maxBytes);
    for (const [i, b] of adds) w.add(i as number, b as number);
    expect(w.full()).toBe(full);
  });

  it("freeLE releases acknowledged appends by index; adding to a full window is an invariant violation", () => {
    const w = new Inflights(2, 0);
    w.add(5, 1);
    w.add(9, 1);
    expect(() => w.add(10, 1)).toThrow(InvariantViolation);
    w.freeLE(5);
    expect(w.count).toBe(1);
    w.freeLE(100);
    expect(w.count).toBe(0);
    expect(w.inflightBytes).toBe(0);
  });
});

describe("quorum", () => {
  it.each([
    { matches: [5], want: 5 },
    { matches: [5, 3], want: 3 },
    { matches: [5, 3, 1], want: 3 },
    { matches: [9, 5, 3, 1], want: 3 },
    { matches: [9, 7, 5, 3, 1], want: 5 },
  ])("majority committed of $matches is $want", ({ matches, want }) => {
    const ids = matches.map((_, i) => `n${i}`);
    expect(majorityCommitted(ids, (id) => matches[Number(id.slice(1))] as number)).toBe(want);
  });

  it("a joint configuration needs both majorities", () => {
    const votes = new Map([["a", true], ["b", true], ["d", false], ["e", false]]);
    expect(jointVoteResult({ voters: ["a", "b", "c"], learners: [], votersOutgoing: ["c", "d", "e"] }, votes)).toBe(VoteResult.Lost);
    expect(jointVoteResult({ voters: ["a", "b", "c"], learners: [] }, votes)).toBe(VoteResult.Won);
  });
});
