/**
 * BUGGIFY-style planted fault points (FoundationDB `flow/include/flow/Buggify.h`,
 * STYLE.md). Production code marks a rare path with `if (buggify("site")) ...`;
 * the hook only ever fires while a simulation has enabled a seeded context, so
 * the rare path gets exercised under one seed and replays from it.
 *
 * Off in production by construction: there is no context unless a test calls
 * `enableBuggify`, and `buggify` then returns false without touching anything.
 * Like FoundationDB, each site is switched on for a whole run or not at all
 * (decided from the seed and the site's name, so independent of call order),
 * and an enabled site fires on a fraction of its calls.
 */
import type { Random } from "./env.js";
import { invariant } from "./errors.js";

export interface BuggifyOptions {
  /** The run's seeded source: fires are drawn from it, so the run replays. */
  readonly random: Random;
  /** The seed that decides which sites are enabled for this run. */
  readonly seed: number;
  /** Chance that a given site is enabled for the run (default 0.25, as FoundationDB). */
  readonly siteProbability?: number;
  /** Chance that an enabled site fires on a call (default 0.05). */
  readonly fireProbability?: number;
  /** Only these sites may fire (default: any site). */
  readonly sites?: readonly string[];
}

export interface BuggifyStats {
  /** site -> times it fired in this context. */
  readonly fired: ReadonlyMap<string, number>;
  /** Sites reached at least once, enabled or not. */
  readonly reached: ReadonlySet<string>;
}

interface BuggifyContext {
  readonly random: Random;
  readonly seed: number;
  readonly siteProbability: number;
  readonly fireProbability: number;
  readonly sites: ReadonlySet<string> | undefined;
  readonly enabled: Map<string, boolean>;
  readonly fired: Map<string, number>;
  readonly reached: Set<string>;
}

/** The one active context; undefined (inert) unless a simulation enabled it. */
let active: BuggifyContext | undefined;

function probability(name: string, value: number): number {
  invariant(Number.isFinite(value) && value >= 0 && value <= 1, `buggify: ${name} must be in [0, 1], got ${value}`);
  return value;
}

/** FNV-1a of seed and site: a site's enablement does not depend on which sites ran first. */
function siteHash(seed: number, site: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < site.length; i++) hash = Math.imul(hash ^ site.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  return ((hash ^ (hash >>> 12)) >>> 0) / 0x1_0000_0000;
}

/**
 * Turn planted fault points on for one simulation run. Returns the function that
 * turns them off again (call it in `finally`). Only one context at a time.
 */
export function enableBuggify(options: BuggifyOptions): () => BuggifyStats {
  invariant(active === undefined, "buggify: a context is already enabled (one simulation at a time)");
  const context: BuggifyContext = {
    random: options.random,
    seed: options.seed,
    siteProbability: probability("siteProbability", options.siteProbability ?? 0.25),
    fireProbability: probability("fireProbability", options.fireProbability ?? 0.05),
    sites: options.sites === undefined ? undefined : new Set(options.sites),
    enabled: new Map(),
    fired: new Map(),
    reached: new Set(),
  };
  active = context;
  return () => {
    if (active === context) active = undefined;
    return { fired: new Map(context.fired), reached: new Set(context.reached) };
  };
}

/** Whether a simulation has planted fault points on. */
export function buggifyEnabled(): boolean {
  return active !== undefined;
}

/**
 * true when the rare path at `site` should be taken now. Always false outside
 * a simulation that called `enableBuggify`.
 */
export function buggify(site: string): boolean {
  const context = active;
  if (context === undefined) return false;
  context.reached.add(site);
  let enabled = context.enabled.get(site);
  if (enabled === undefined) {
    enabled = (context.sites === undefined || context.sites.has(site)) && siteHash(context.seed, site) < context.siteProbability;
    context.enabled.set(site, enabled);
  }
  if (!enabled || !context.random.chance(context.fireProbability)) return false;
  context.fired.set(site, (context.fired.get(site) ?? 0) + 1);
  return true;
}
