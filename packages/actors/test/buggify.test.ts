import { afterEach, describe, expect, it } from "vitest";
import { SeededRandom, buggify, buggifyEnabled, enableBuggify } from "../src/index.js";

let disable: (() => unknown) | undefined;
afterEach(() => {
  disable?.();
  disable = undefined;
});

function fires(seed: number, site: string, calls: number): number {
  disable = enableBuggify({ random: new SeededRandom(seed), seed, siteProbability: 1, fireProbability: 0.5 });
  let count = 0;
  for (let i = 0; i < calls; i++) if (buggify(site)) count++;
  disable();
  disable = undefined;
  return count;
}

describe("buggify", () => {
  it("is inert unless a simulation enabled it", () => {
    expect(buggifyEnabled()).toBe(false);
    for (let i = 0; i < 1000; i++) expect(buggify("any-site")).toBe(false);
  });

  it("fires a seeded, replayable fraction of calls at an enabled site and reports them", () => {
    const a = fires(7, "site", 400);
    expect(a).toBe(fires(7, "site", 400));
    expect(a).toBeGreaterThan(100);
    expect(a).toBeLessThan(300);
    disable = enableBuggify({ random: new SeededRandom(1), seed: 1, siteProbability: 1, fireProbability: 1 });
    buggify("x");
    buggify("x");
    const stats = disable();
    disable = undefined;
    expect((stats as { fired: Map<string, number> }).fired.get("x")).toBe(2);
    expect(buggifyEnabled()).toBe(false);
  });

  it("enables a site for the whole run or not at all, independent of call order", () => {
    const enabledSites = (seed: number, order: string[]): string[] => {
      disable = enableBuggify({ random: new SeededRandom(seed), seed, siteProbability: 0.5, fireProbability: 1 });
      const out = order.filter((site) => buggify(site)).sort();
      disable();
      disable = undefined;
      return out;
    };
    const sites = Array.from({ length: 40 }, (_, i) => `site-${i}`);
    const forward = enabledSites(3, sites);
    expect(enabledSites(3, [...sites].reverse())).toEqual(forward);
    expect(forward.length).toBeGreaterThan(5);
    expect(forward.length).toBeLessThan(35);
  });

  it("restricts firing to the listed sites and refuses a second context", () => {
    disable = enableBuggify({ random: new SeededRandom(2), seed: 2, siteProbability: 1, fireProbability: 1, sites: ["only"] });
    expect(buggify("only")).toBe(true);
    expect(buggify("other")).toBe(false);
    expect(() => enableBuggify({ random: new SeededRandom(3), seed: 3 })).toThrow(/already enabled/);
  });
});
