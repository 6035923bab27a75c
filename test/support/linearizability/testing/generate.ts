// Random valid histories: clients issue operations with random, overlapping
// intervals; each operation takes effect at a random instant inside its
// interval, and outputs come from a sequential reference run in effect order.
// So every generated history is linearizable by construction.

import { UNKNOWN, type Operation } from "../types.js";
import type { TestRandom } from "./random.js";

export interface GenerateOptions<Store, Input, Output> {
  readonly random: TestRandom;
  readonly clients: number;
  readonly operationsPerClient: number;
  /** Longest operation duration (time units). */
  readonly maxDuration: number;
  /** Longest pause between a client's operations. */
  readonly maxGap: number;
  /** Probability that an operation's outcome is unknown (return = Infinity). */
  readonly unknownProbability: number;
  /** The reference store, mutated in place by `apply`. */
  readonly store: Store;
  randomInput(random: TestRandom, clientId: number, sequence: number): Input;
  apply(store: Store, input: Input): Output;
}

export interface GeneratedOperation<Input, Output> extends Operation<Input, Output> {
  /** Whether (and when) it took effect in the reference run. */
  readonly effectTime: number | undefined;
}

export function generateHistory<Store, Input, Output>(options: GenerateOptions<Store, Input, Output>): GeneratedOperation<Input, Output>[] {
  const { random } = options;
  interface Draft {
    clientId: number;
    input: Input;
    call: number;
    return: number;
    effectTime: number | undefined;
    output: Output | typeof UNKNOWN;
  }
  const drafts: Draft[] = [];
  for (let clientId = 0; clientId < options.clients; clientId++) {
    let time = random.int(0, options.maxGap);
    for (let sequence = 0; sequence < options.operationsPerClient; sequence++) {
      const input = options.randomInput(random, clientId, sequence);
      const duration = random.int(1, options.maxDuration);
      const call = time;
      if (random.chance(options.unknownProbability)) {
        // Timed out at call + duration; it may take effect at any later time, or never.
        const effectTime = random.chance(0.5) ? call + random.next() * options.maxDuration * 4 + 0.001 : undefined;
        drafts.push({ clientId, input, call, return: Infinity, effectTime, output: UNKNOWN });
      } else {
        const effectTime = call + 0.001 + random.next() * (duration - 0.002);
        drafts.push({ clientId, input, call, return: call + duration, effectTime, output: UNKNOWN });
      }
      time = call + duration + random.int(0, options.maxGap);
    }
  }
  const effective = drafts.filter((draft) => draft.effectTime !== undefined);
  effective.sort((a, b) => (a.effectTime ?? 0) - (b.effectTime ?? 0));
  for (const draft of effective) {
    const output = options.apply(options.store, draft.input);
    if (draft.return !== Infinity) draft.output = output;
  }
  return drafts.map((draft) => ({ ...draft }));
}
