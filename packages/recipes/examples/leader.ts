/**
 * Demo: two LeaderSelectors in one process take turns leading (each term lasts
 * half a second, then relinquishes); every term's fencing token is larger than
 * the last. Stops after `--terms N` terms (default 6); run it in two terminals
 * to see candidates from different processes alternate.
 */
import { FencedResource } from "@corral/recipes";
import { connectLive, numberOption } from "./connect-live.js";

const { sessions, r } = await connectLive("leader");
const wanted = numberOption("--terms", 6);
const resource = new FencedResource<string>();
let terms = 0;
let finish: () => void = () => undefined;
const done = new Promise<void>((resolve) => (finish = resolve));
const selectors = ["candidate-a", "candidate-b"].map((name) => {
  const selector = r.leaderSelector("/demo/election", async (term) => {
    console.log(`${name} leads: token ${term.fencingToken}, fenced write accepted=${resource.write(term.fencingToken, name)}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      term.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    console.log(`${name} relinquishes term ${term.fencingToken}${term.signal.aborted ? " (leadership lost)" : ""}`);
    if (++terms >= wanted) finish();
  });
  selector.on("error", (error) => console.error(`${name} error`, error));
  return selector;
});
for (const selector of selectors) selector.start();
process.once("SIGINT", finish);
await done;
for (const selector of selectors) await selector.close();
await sessions.close();
console.log(`done: ${terms} terms, ${resource.refused} stale writes refused`);
