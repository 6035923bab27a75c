import { Effect, Layer, Stream, Fiber } from "effect";
import { AddWatchMode, EventType } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { CorralClientService, create, getString, layerWith, multi, remove, setData, watch, exists } from "../src/effect.js";
import { ensembleWithLeader, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

describe("the Effect API", () => {
  it("runs operations through a scoped layer, types failures by tag, and closes the session on release", async () => {
    ensemble = await ensembleWithLeader({ seed: 41 });
    const e = ensemble;
    const program = Effect.gen(function* () {
      const client = yield* CorralClientService;
      yield* create("/fx", "one");
      const first = yield* getString("/fx");
      yield* setData("/fx", "two", first.stat.version);
      const missing = yield* getString("/nope").pipe(
        Effect.map(() => "found"),
        Effect.catchTag("NoNode", (error) => Effect.succeed(`NoNode ${error.path}`)),
      );
      const results = yield* multi((m) => m.create("/fx/a").create("/fx/b"));
      const stale = yield* setData("/fx", "three", 0).pipe(Effect.flip);
      yield* remove("/fx/a");
      return { client, value: (yield* getString("/fx")).data, missing, count: results.length, stale: stale._tag, a: yield* exists("/fx/a") };
    });
    const out = await run(e, Effect.runPromise(program.pipe(Effect.provide(layerWith(e.clientEnv("fx"), { nodes: e.nodeIds, sessionTimeoutMs: 6_000 })))));
    expect(out).toMatchObject({ value: "two", missing: "NoNode /nope", count: 2, stale: "BadVersion", a: null });
    expect(out.client.state).toBe("closed");
  });

  it("streams persistent watch events", async () => {
    ensemble = await ensembleWithLeader({ seed: 42 });
    const e = ensemble;
    const program = Effect.gen(function* () {
      yield* create("/ws");
      const client = yield* CorralClientService;
      const sentBefore = client.stats().requestsSent;
      const fiber = yield* watch("/ws", AddWatchMode.PersistentRecursive).pipe(Stream.take(2), Stream.runCollect, Effect.fork);
      // Let the forked stream send its addWatch first: requests of one session are answered in order.
      for (let i = 0; i < 1_000 && client.stats().requestsSent === sentBefore; i++) yield* Effect.yieldNow();
      yield* create("/ws/a");
      yield* setData("/ws/a", "x");
      return yield* Fiber.join(fiber);
    });
    const layer = layerWith(e.clientEnv("ws"), { nodes: e.nodeIds, sessionTimeoutMs: 6_000 });
    const events = await run(e, Effect.runPromise(program.pipe(Effect.provide(Layer.fresh(layer)))));
    expect([...events].map((event) => [event.type, event.path])).toEqual([
      [EventType.NodeCreated, "/ws/a"],
      [EventType.NodeDataChanged, "/ws/a"],
    ]);
  });
});
