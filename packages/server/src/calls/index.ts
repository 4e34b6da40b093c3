export { startCall, transition, findGlare } from './machine.ts';
export type { CallState, CallInput, Effect, Transition, StartInput, CallerRef } from './state.ts';
