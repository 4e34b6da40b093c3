export {
  bearerToken,
  createAuthenticator,
  resolveSecret,
  type Authenticator,
  type Identity,
} from './jwt.ts';
export { granted } from './scope.ts';
export { RevocationList, refusingRevoked, type TokenRef } from './revocations.ts';
