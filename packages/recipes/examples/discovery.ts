/**
 * Demo: register two instances of "api" (ephemeral nodes), watch them, pick
 * with round-robin; then one instance unregisters and discovery sees it go.
 */
import { ServiceProvider } from "@corral/recipes";
import { connectLive, pause } from "./connect-live.js";

const { sessions, r } = await connectLive("discovery");
const registry = r.serviceRegistry();
const first = `api-${process.pid}-1`;
const second = `api-${process.pid}-2`;
await registry.register({ name: "api", id: first, address: "127.0.0.1", port: 8081 });
await registry.register({ name: "api", id: second, address: "127.0.0.1", port: 8082 });
const discovery = r.serviceDiscovery("api");
discovery.on("change", (instances) => console.log(`instances: ${instances.map((i) => `${i.id}@${i.address}:${i.port}`).join(", ") || "(none)"}`));
await discovery.start();
const provider = new ServiceProvider(discovery, "round-robin");
for (let i = 0; i < 4; i++) console.log(`pick ${i}: ${provider.getInstance()?.id}`);
await registry.unregister("api", second);
await discovery.ready({ timeoutMs: 10_000 });
for (let i = 0; i < 50 && discovery.instances().some((instance) => instance.id === second); i++) await pause(100);
console.log(`after ${second} left: pick ${provider.getInstance()?.id}`);
await registry.close();
await discovery.close();
await sessions.close();
