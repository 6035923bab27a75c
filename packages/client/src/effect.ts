/**
 * The Effect API (`@corral/client/effect`): the client's operations as
 * Effects whose error channel is the union of Corral's tagged errors, so
 * `Effect.catchTag("NoNode", ...)` works; the client as a service
 * (`CorralClientService`) provided by a scoped Layer that closes the session
 * on release.
 *
 *   const program = Effect.gen(function* () {
 *     yield* create("/app", "hello");
 *     const { data } = yield* getData("/app");
 *   });
 *   Effect.runPromise(program.pipe(Effect.provide(layer({ cluster, redis }))));
 */
import { Context, Effect, Layer, Stream, type Scope } from "effect";
import {
  SystemError,
  isCorralError,
  type ACL,
  type AddWatchMode,
  type Stat,
  type WatcherType,
  type RuntimeInconsistencyError,
  type DataInconsistencyError,
  type ConnectionLossError,
  type MarshallingError,
  type UnimplementedError,
  type OperationTimeoutError,
  type BadArgumentsError,
  type UnknownSessionError,
  type NewConfigNoQuorumError,
  type ReconfigInProgressError,
  type APIError,
  type NoNodeError,
  type NoAuthError,
  type BadVersionError,
  type NoChildrenForEphemeralsError,
  type NodeExistsError,
  type NotEmptyError,
  type SessionExpiredError,
  type InvalidCallbackError,
  type InvalidACLError,
  type AuthFailedError,
  type SessionMovedError,
  type NotReadOnlyError,
  type EphemeralOnLocalSessionError,
  type NoWatcherError,
  type RequestTimeoutError,
  type ReconfigDisabledError,
  type SessionClosedRequireSaslAuthError,
  type QuotaExceededError,
  type ThrottledError,
  type NotLeaderError,
  type TooManyRequestsError,
  type RequestForgottenError,
  type LimitExceededError,
} from "@corral/protocol";
import type { CreateOptions, CreateResponse, EventStream, MultiBuilder, MultiResult, ReadOptions, StateChange, WatchedEvent, Watcher, WatchOptions } from "./api.js";
import { connectWith, type ClientInternals, type CorralClient } from "./client.js";
import { connect, type ConnectOptions } from "./connect-live.js";
import type { ClientEnv, ClientOptions } from "./options.js";

/** Every typed failure a Corral call may end with; match on `_tag`. */
export type CorralFailure =
  | SystemError | RuntimeInconsistencyError | DataInconsistencyError | ConnectionLossError | MarshallingError | UnimplementedError | OperationTimeoutError | BadArgumentsError | UnknownSessionError | NewConfigNoQuorumError | ReconfigInProgressError | APIError | NoNodeError | NoAuthError | BadVersionError | NoChildrenForEphemeralsError | NodeExistsError | NotEmptyError | SessionExpiredError | InvalidCallbackError | InvalidACLError | AuthFailedError | SessionMovedError | NotReadOnlyError | EphemeralOnLocalSessionError | NoWatcherError | RequestTimeoutError | ReconfigDisabledError | SessionClosedRequireSaslAuthError | QuotaExceededError | ThrottledError | NotLeaderError | TooManyRequestsError | RequestForgottenError | LimitExceededError;

/** The client as an Effect service. */
export class CorralClientService extends Context.Tag("@corral/client/CorralClientService")<CorralClientService, CorralClient>() {}

function toFailure(error: unknown): CorralFailure {
  // Every rejection of the client is a CorralError; anything else is a bug, reported as SystemError with its cause.
  return (isCorralError(error) ? error : new SystemError(undefined, { cause: error })) as CorralFailure;
}

/** Lift one client call into an Effect with the typed error channel. */
export function fromPromise<A>(call: () => Promise<A>): Effect.Effect<A, CorralFailure> {
  return Effect.tryPromise({ try: call, catch: toFailure });
}

const use = <A>(call: (client: CorralClient) => Promise<A>): Effect.Effect<A, CorralFailure, CorralClientService> =>
  Effect.flatMap(CorralClientService, (client) => fromPromise(() => call(client)));

export const create = (path: string, data?: Uint8Array | string, options?: CreateOptions): Effect.Effect<CreateResponse, CorralFailure, CorralClientService> =>
  use((client) => client.create(path, data, options));
export const getData = (path: string, options?: WatchOptions): Effect.Effect<{ data: Uint8Array; stat: Stat }, CorralFailure, CorralClientService> =>
  use((client) => client.getData(path, options));
export const getString = (path: string, options?: WatchOptions): Effect.Effect<{ data: string; stat: Stat }, CorralFailure, CorralClientService> =>
  use((client) => client.getString(path, options));
export const exists = (path: string, options?: WatchOptions): Effect.Effect<Stat | null, CorralFailure, CorralClientService> =>
  use((client) => client.exists(path, options));
export const getChildren = (path: string, options?: WatchOptions): Effect.Effect<{ children: string[]; stat: Stat }, CorralFailure, CorralClientService> =>
  use((client) => client.getChildren(path, options));
export const getAllChildrenNumber = (path: string): Effect.Effect<number, CorralFailure, CorralClientService> => use((client) => client.getAllChildrenNumber(path));
export const getEphemerals = (prefix?: string): Effect.Effect<string[], CorralFailure, CorralClientService> => use((client) => client.getEphemerals(prefix));
export const setData = (path: string, data: Uint8Array | string, version?: number): Effect.Effect<Stat, CorralFailure, CorralClientService> =>
  use((client) => client.setData(path, data, version));
/** `delete` (a reserved word as an export name). */
export const remove = (path: string, version?: number): Effect.Effect<void, CorralFailure, CorralClientService> => use((client) => client.delete(path, version));
/** Build and commit a multi: `multi((m) => m.create("/a").setData("/b", "x"))`. */
export const multi = (build: (builder: MultiBuilder) => MultiBuilder): Effect.Effect<MultiResult, CorralFailure, CorralClientService> =>
  use((client) => build(client.multi()).commit());
export const sync = (path?: string): Effect.Effect<void, CorralFailure, CorralClientService> => use((client) => client.sync(path));
export const getACL = (path: string): Effect.Effect<{ acl: ACL[]; stat: Stat }, CorralFailure, CorralClientService> => use((client) => client.getACL(path));
export const setACL = (path: string, acl: readonly ACL[], version?: number): Effect.Effect<Stat, CorralFailure, CorralClientService> =>
  use((client) => client.setACL(path, acl, version));
export const addAuth = (credentials: string): Effect.Effect<void, CorralFailure, CorralClientService> => use((client) => client.addAuth("digest", credentials));
export const addWatch = (path: string, mode: AddWatchMode, watcher: Watcher): Effect.Effect<void, CorralFailure, CorralClientService> =>
  use((client) => client.addWatch(path, mode, watcher));
export const removeWatches = (path: string, type: WatcherType, watcher?: Watcher): Effect.Effect<void, CorralFailure, CorralClientService> =>
  use((client) => client.removeWatches(path, type, watcher));

/** A persistent (or recursive) watch as a Stream; the watch is removed when the stream's scope closes. */
export const watch = (path: string, mode: AddWatchMode): Stream.Stream<WatchedEvent, CorralFailure, CorralClientService> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(use((client) => client.watchStream(path, mode)), (events: EventStream<WatchedEvent>) => Effect.sync(() => events.close())),
      (events) => Stream.fromAsyncIterable(events, toFailure),
    ),
  );

/** Connection state changes as a Stream. */
export const states: Stream.Stream<StateChange, CorralFailure, CorralClientService> = Stream.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(Effect.map(CorralClientService, (client) => client.states()), (events) => Effect.sync(() => events.close())),
    (events) => Stream.fromAsyncIterable(events, toFailure),
  ),
);

export type { ReadOptions };

const acquire = (open: () => Promise<CorralClient>): Effect.Effect<CorralClient, CorralFailure, Scope.Scope> =>
  Effect.acquireRelease(fromPromise(open), (client) => Effect.promise(() => client.close()));

/** A live client (Redis Streams network) for the Layer's lifetime; the session is closed on release. */
export const layer = (options: ConnectOptions): Layer.Layer<CorralClientService, CorralFailure> => Layer.scoped(CorralClientService, acquire(() => connect(options)));

/** A client in an injected environment (simulation, tests); the session is closed on release. */
export const layerWith = (env: ClientEnv, options: ClientOptions, internals?: ClientInternals): Layer.Layer<CorralClientService, CorralFailure> =>
  Layer.scoped(CorralClientService, acquire(() => connectWith(env, options, internals)));
