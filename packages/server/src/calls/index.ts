export { startCall, transition, findGlare } from './machine.ts';
export { CallEngine, type CallEngineOptions } from './engine.ts';
export type { Delivery, Sender, Clock } from './ports.ts';
export type { CallState, CallInput, Effect, Transition, StartInput, CallerRef } from './state.ts';
