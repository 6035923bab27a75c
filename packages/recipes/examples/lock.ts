/** Demo: three workers take turns on one Mutex; a fenced resource shows tokens growing. */
import { FencedResource, Mutex } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, env } = await connectLive("lock");
const resource = new FencedResource<string>();
await Promise.all(
  ["w1", "w2", "w3"].map(async (name) => {
    const mutex = new Mutex(sessions, "/demo/locks/counter", env);
    for (let i = 0; i < 3; i++) {
      const hold = await mutex.acquire({ timeoutMs: 30_000 });
      console.log(`${name} holds the lock, token ${hold.fencingToken}, accepted=${resource.write(hold.fencingToken, name)}`);
      await mutex.release();
    }
  }),
);
await sessions.close();
