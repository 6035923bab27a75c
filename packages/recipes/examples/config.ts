/** Demo: subscribe to /demo/config/feature-flags and print every value; another shell can `set` it. */
import { ConfigSubscription } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, env } = await connectLive("config");
const client = sessions.current();
await client.create("/demo", "").catch(() => undefined);
await client.create("/demo/config", "").catch(() => undefined);
await client.create("/demo/config/feature-flags", JSON.stringify({ darkMode: false })).catch(() => undefined);
const subscription = new ConfigSubscription(sessions, "/demo/config/feature-flags", env);
subscription.subscribe((value) => console.log(`changed: ${value?.text ?? "(deleted)"} (version ${value?.version ?? "-"})`));
console.log(`at start: ${(await subscription.start())?.text}`);
await client.setData("/demo/config/feature-flags", JSON.stringify({ darkMode: true }));
process.on("SIGINT", () => void subscription.close().then(() => sessions.close()).then(() => process.exit(0)));
