export { callRoutes } from './calls.ts';
export { bearer, ok, fail, type AuthVars } from './rest.ts';
