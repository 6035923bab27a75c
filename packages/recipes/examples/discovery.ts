/** Demo: register two instances of "api", watch them, pick with round-robin; Ctrl-C unregisters (ephemerals go). */
import { ServiceDiscovery, ServiceProvider, ServiceRegistry } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, env } = await connectLive("discovery");
const registry = new ServiceRegistry(sessions, env);
await registry.register({ name: "api", id: `api-${process.pid}-1`, address: "127.0.0.1", port: 8081 });
await registry.register({ name: "api", id: `api-${process.pid}-2`, address: "127.0.0.1", port: 8082 });
const discovery = new ServiceDiscovery(sessions, "api", env);
discovery.on("change", (instances) => console.log(`instances: ${instances.map((i) => `${i.id}@${i.address}:${i.port}`).join(", ")}`));
await discovery.start();
const provider = new ServiceProvider(discovery, "round-robin", env);
for (let i = 0; i < 4; i++) console.log(`pick ${i}: ${provider.getInstance()?.id}`);
process.on("SIGINT", () => void registry.close().then(() => discovery.close()).then(() => sessions.close()).then(() => process.exit(0)));
