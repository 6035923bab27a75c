/**
 * Demo: subscribe to /demo/config/feature-flags, print the value at start and
 * every change; this process then changes it twice (another shell could `set` it too).
 */
import { connectLive, pause } from "./connect-live.js";

const { sessions, r } = await connectLive("config");
const client = sessions.current();
await client.create("/demo", "").catch(() => undefined);
await client.create("/demo/config", "").catch(() => undefined);
await client.create("/demo/config/feature-flags", JSON.stringify({ darkMode: false })).catch(() => undefined);
const subscription = r.config("/demo/config/feature-flags");
const seen: string[] = [];
subscription.subscribe((value) => {
  seen.push(value?.text ?? "(deleted)");
  console.log(`changed: ${value?.text ?? "(deleted)"} (version ${value?.version ?? "-"})`);
});
console.log(`at start: ${(await subscription.start())?.text}`);
const target = [JSON.stringify({ darkMode: true }), JSON.stringify({ darkMode: true, beta: true })];
for (const text of target) await client.setData("/demo/config/feature-flags", text);
for (let i = 0; i < 100 && seen[seen.length - 1] !== target[1]; i++) await pause(50);
await subscription.close();
await sessions.close();
console.log(`saw ${seen.length} values; last ${seen[seen.length - 1]}`);
