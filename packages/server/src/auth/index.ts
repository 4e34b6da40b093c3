export {
  bearerToken,
  createAuthenticator,
  resolveSecret,
  type Authenticator,
  type Identity,
} from './jwt.ts';
export { granted } from './scope.ts';
