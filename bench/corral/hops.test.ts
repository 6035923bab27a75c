import { describe, expect, it } from "vitest";
import { floorRatio, writeFloor, writeHops } from "./hops.js";

describe("writeHops", () => {
  it("a client on a follower pays the forward to the leader and the commit back: 6 hops", () => {
    const hops = writeHops("on-follower");
    expect(hops.map((hop) => `${hop.from}->${hop.to}`)).toEqual([
      "client->node",
      "node->leader",
      "leader->followers",
      "follower->leader",
      "leader->node",
      "node->client",
    ]);
  });

  it("a client on the leader skips the forward and the commit broadcast: 4 hops", () => {
    expect(writeHops("on-leader").map((hop) => `${hop.from}->${hop.to}`)).toEqual(["client->node", "leader->followers", "follower->leader", "node->client"]);
  });
});

describe("writeFloor", () => {
  it("is hops × hop p50 plus one fsync", () => {
    expect(writeFloor("on-follower", 0.25, 1.5)).toEqual({ placement: "on-follower", hops: 6, hopP50Ms: 0.25, fsyncP50Ms: 1.5, floorMs: 3 });
    expect(writeFloor("on-leader", 0.25, 1.5).floorMs).toBe(2.5);
  });

  it("refuses negative or non-numeric latencies", () => {
    expect(() => writeFloor("on-leader", -1, 1)).toThrow(RangeError);
    expect(() => writeFloor("on-leader", 1, Number.NaN)).toThrow(RangeError);
  });

  it("ratio of a write p50 to the floor; infinite for a zero floor", () => {
    expect(floorRatio(3.9, writeFloor("on-follower", 0.25, 1.5))).toBeCloseTo(1.3);
    expect(floorRatio(1, writeFloor("on-leader", 0, 0))).toBe(Number.POSITIVE_INFINITY);
  });
});
