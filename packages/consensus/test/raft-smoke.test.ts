import { describe, expect, it } from "vitest";
import { Cluster, text } from "./cluster-harness.js";

describe("smoke", () => {
  it("elects a leader and commits proposals on 3 nodes", () => {
    const c = new Cluster(["a", "b", "c"]);
    c.elect("a");
    expect(c.leader()).toBe("a");
    const r = c.node("a").propose(text("x"));
    expect(r.ok).toBe(true);
    c.stabilize();
    c.tickAll(3);
    for (const id of ["a", "b", "c"]) expect(c.appliedData(id)).toEqual(["x"]);
  });
});
