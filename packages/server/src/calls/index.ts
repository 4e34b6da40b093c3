export { startCall, transition, findGlare, selectCall } from './machine.ts';
export { CallEngine, type CallEngineOptions } from './engine.ts';
export { PendingInvites } from './pending-invites.ts';
export type { CallWatcher } from './watcher.ts';
export { summaryOf } from './state.ts';
export type {
  CallState,
  CallSummary,
  CallInput,
  Effect,
  Transition,
  StartInput,
  CallerRef,
} from './state.ts';
export { RouteCache, type RouteEntry } from './route-cache.ts';
export { routeCalls } from './call-routes.ts';
export { CallAnnouncer, ClusterCalls, type ClusterCallsOptions } from './cluster-calls.ts';
