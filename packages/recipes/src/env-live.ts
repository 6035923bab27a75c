/**
 * The environment a recipe uses when none is given: the real clock and a
 * random source seeded from the OS's CSPRNG, fresh for every recipe, so no
 * two processes draw the same "random" node names or backoffs. Simulations
 * and tests pass their own RecipeEnv instead (the injected form).
 */
import { randomBytes } from "node:crypto";
import { LiveClock, SeededRandom, type Logger } from "@corral/actors";
import type { RecipeEnv } from "./common.js";

const sharedClock = new LiveClock();

export function liveRecipeEnv(logger?: Logger): RecipeEnv {
  const random = new SeededRandom(randomBytes(4).readUInt32LE(0));
  return logger === undefined ? { clock: sharedClock, random } : { clock: sharedClock, random, logger };
}
