/**
 * Demo: register two instances of "api" (ephemeral nodes), watch them, pick
 * with round-robin; then one instance unregisters and discovery sees it go.
 */
import { ServiceDiscovery, ServiceProvider, ServiceRegistry } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, env } = await connectLive("discovery");
const registry = new ServiceRegistry(sessions, env);
const first = `api-${process.pid}-1`;
const second = `api-${process.pid}-2`;
await registry.register({ name: "api", id: first, address: "127.0.0.1", port: 8081 });
await registry.register({ name: "api", id: second, address: "127.0.0.1", port: 8082 });
const discovery = new ServiceDiscovery(sessions, "api", env);
discovery.on("change", (instances) => console.log(`instances: ${instances.map((i) => `${i.id}@${i.address}:${i.port}`).join(", ") || "(none)"}`));
await discovery.start();
const provider = new ServiceProvider(discovery, "round-robin", env);
for (let i = 0; i < 4; i++) console.log(`pick ${i}: ${provider.getInstance()?.id}`);
await registry.unregister("api", second);
await discovery.ready({ timeoutMs: 10_000 });
for (let i = 0; i < 50 && discovery.instances().some((instance) => instance.id === second); i++) await new Promise((resolve) => env.clock.setTimer(100, () => resolve(undefined)));
console.log(`after ${second} left: pick ${provider.getInstance()?.id}`);
await registry.close();
await discovery.close();
await sessions.close();
