export { callRoutes } from './calls.ts';
export { meetingRoutes } from './meetings.ts';
export { bearer, ok, fail, type AuthVars } from './rest.ts';
