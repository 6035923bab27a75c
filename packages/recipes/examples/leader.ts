/** Demo: a LeaderSelector that leads for two seconds per term, then relinquishes. Run it in two terminals. */
import { LeaderSelector } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, env } = await connectLive("leader");
const selector = new LeaderSelector(sessions, "/demo/election", env, async (term) => {
  console.log(`leader: token ${term.fencingToken}`);
  await new Promise<void>((resolve) => {
    const timer = env.clock.setTimer(2_000, resolve);
    term.signal.addEventListener("abort", () => (env.clock.clearTimer(timer), resolve()));
  });
  console.log(`relinquishing term ${term.fencingToken}${term.signal.aborted ? " (leadership lost)" : ""}`);
});
selector.on("error", (error) => console.error("selector error", error));
selector.start();
process.on("SIGINT", () => void selector.close().then(() => sessions.close()).then(() => process.exit(0)));
