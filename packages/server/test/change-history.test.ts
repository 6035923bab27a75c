/** The applier's bounded change history: what it keeps, what it evicts, and when it admits it cannot answer. */
import { describe, expect, it } from "vitest";
import { ChangeHistory } from "../src/change-history.js";
import { resolveNodeConfig } from "../src/config.js";
import { InvalidNodeConfig } from "../src/errors.js";

const created = (path: string) => ({ type: "created", path }) as const;
const parent = (path: string) => ({ type: "childrenChanged", path }) as const;

describe("ChangeHistory", () => {
  it("answers for any zxid from its start on, with the entries after it, oldest first", () => {
    const history = new ChangeHistory(100, 10);
    history.record(11, [created("/a"), parent("/")]);
    history.record(12, []); // a no-change entry (session, noop): nothing stored, still covered
    history.record(13, [created("/b"), parent("/")]);
    expect(history.after(9)).toBeUndefined(); // before the start: unknown
    expect(history.after(10)?.map((e) => e.zxid)).toEqual([11, 13]);
    expect(history.after(11)?.map((e) => e.zxid)).toEqual([13]);
    expect(history.after(12)?.map((e) => e.zxid)).toEqual([13]);
    expect(history.after(13)).toEqual([]);
    expect(history.size).toBe(4);
  });

  it("evicts whole entries, oldest first, to stay within maxChanges, and stops answering for what it dropped", () => {
    const history = new ChangeHistory(3, 0);
    history.record(1, [created("/a"), parent("/")]);
    history.record(2, [created("/b"), parent("/")]);
    expect(history.size).toBe(2);
    expect(history.coversFrom).toBe(1);
    expect(history.after(0)).toBeUndefined();
    expect(history.after(1)?.map((e) => e.zxid)).toEqual([2]);
    // An entry larger than the whole bound evicts itself: nothing before or at it can be answered.
    history.record(3, [created("/c"), created("/d"), created("/e"), parent("/")]);
    expect(history.size).toBe(0);
    expect(history.after(2)).toBeUndefined();
    expect(history.after(3)).toEqual([]);
  });

  it("maxChanges 0 keeps nothing: only a client that saw everything is answered", () => {
    const history = new ChangeHistory(0, 0);
    history.record(1, [created("/a")]);
    expect(history.after(0)).toBeUndefined();
    expect(history.after(1)).toEqual([]);
  });

  it("reset (a snapshot installed) forgets everything before the snapshot", () => {
    const history = new ChangeHistory(100, 0);
    history.record(1, [created("/a")]);
    history.reset(50);
    expect(history.after(1)).toBeUndefined();
    expect(history.after(50)).toEqual([]);
    history.record(51, [created("/b")]);
    expect(history.after(50)?.map((e) => e.zxid)).toEqual([51]);
  });

  it("stays bounded and correct over many evictions", () => {
    const history = new ChangeHistory(1_000, 0);
    for (let zxid = 1; zxid <= 20_000; zxid++) history.record(zxid, [created(`/n${zxid}`)]);
    expect(history.size).toBe(1_000);
    expect(history.coversFrom).toBe(19_000);
    expect(history.after(18_999)).toBeUndefined();
    expect(history.after(19_990)?.map((e) => e.zxid)).toEqual([19_991, 19_992, 19_993, 19_994, 19_995, 19_996, 19_997, 19_998, 19_999, 20_000]);
  });

  it("an out-of-order zxid is an invariant violation", () => {
    const history = new ChangeHistory(10, 5);
    expect(() => history.record(5, [created("/a")])).toThrow(/zxid 5 after 5/);
  });

  it("the node config validates the bound", () => {
    expect(resolveNodeConfig({ nodeId: "n1", peers: ["n1"] }).watchReplayMaxChanges).toBe(16_384);
    expect(resolveNodeConfig({ nodeId: "n1", peers: ["n1"], watchReplayMaxChanges: 0 }).watchReplayMaxChanges).toBe(0);
    expect(() => resolveNodeConfig({ nodeId: "n1", peers: ["n1"], watchReplayMaxChanges: -1 })).toThrow(InvalidNodeConfig);
  });
});
