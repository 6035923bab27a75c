import type { EndpointId } from "./network.js";

/**
 * Commands that change a FaultyNetwork's behaviour at run time. They can be
 * applied in-process or, for multi-process tests, published on a Redis control
 * stream (only honoured by nodes started in explicit test mode).
 * Probabilities are in [0, 1]; delays in milliseconds.
 */
export type FaultCommand =
  | {
      readonly kind: "set-link-faults";
      /** Applies to frames from `from` to `to`; "*" matches any endpoint. */
      readonly from: EndpointId | "*";
      readonly to: EndpointId | "*";
      readonly drop?: number;
      readonly duplicate?: number;
      /** Probability that a frame is held back and delivered after a later one. */
      readonly reorder?: number;
      readonly delayMsMin?: number;
      readonly delayMsMax?: number;
    }
  /** Frames between different groups are dropped; endpoints in no group can reach everyone. */
  | { readonly kind: "partition"; readonly groups: readonly (readonly EndpointId[])[] }
  /** Frames from `from` to `to` are dropped (one direction only). */
  | { readonly kind: "block"; readonly from: EndpointId; readonly to: EndpointId }
  | { readonly kind: "unblock"; readonly from: EndpointId; readonly to: EndpointId }
  /** Remove every fault. */
  | { readonly kind: "heal" };
