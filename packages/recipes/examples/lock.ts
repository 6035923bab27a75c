/** Demo: three workers take turns on one Mutex; a fenced resource shows tokens growing. */
import { FencedResource } from "@corral/recipes";
import { connectLive } from "./connect-live.js";

const { sessions, r } = await connectLive("lock");
const resource = new FencedResource<string>();
await Promise.all(
  ["w1", "w2", "w3"].map(async (name) => {
    const mutex = r.lock("/demo/locks/counter");
    for (let i = 0; i < 3; i++) {
      const hold = await mutex.acquire({ timeoutMs: 30_000 });
      console.log(`${name} holds the lock, token ${hold.fencingToken}, accepted=${resource.write(hold.fencingToken, name)}`);
      await mutex.release();
    }
  }),
);
await sessions.close();
