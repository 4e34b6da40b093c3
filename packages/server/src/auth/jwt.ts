import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AppError, isSafeText, isValidId } from '@parley/protocol';
import type { Config } from '../config/index.ts';

/** Who a verified token says the caller is. */
export interface Identity {
  userId: string;
  name: string;
  /** Extra grants from the token's `grants` claim (e.g. `voice`), for dialects that check them. */
  grants: readonly string[];
  /** When the token expires (its `exp`, epoch ms): a connection opened with it closes then. */
  expiresAt: number;
  /** The token's `jti`, if it has one: what a revocation by id names. */
  jti?: string;
  /** When the token was issued (its `iat`, epoch ms; 0 without one): revocations by user use it. */
  issuedAt?: number;
}

/** Verifies bearer tokens; mints them when configured with a shared secret. */
export interface Authenticator {
  verify(token: string): Promise<Identity>;
  /** Mints an HS256 token; throws when the server only verifies (JWKS). */
  mint(
    userId: string,
    opts?: { name?: string; ttlSec?: number; grants?: string[] },
  ): Promise<string>;
}

type AuthOptions = Pick<Config, 'auth' | 'dataDir'>;

/** The longest `name` claim accepted, in UTF-16 code units. */
export const NAME_MAX_LENGTH = 128;

/**
 * The HS256 secret: the configured one, or one generated on first start and kept in
 * `<dataDir>/jwt-secret` (mode 0600) so that tokens survive restarts.
 */
export function resolveSecret({ auth, dataDir }: AuthOptions): Uint8Array<ArrayBuffer> | undefined {
  if (auth.jwtSecret) return new TextEncoder().encode(auth.jwtSecret);
  if (auth.jwksUrl) return undefined;
  const file = join(dataDir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}

/** Builds the authenticator from configuration (HS256 secret, or a JWKS for RS/ES keys). */
export function createAuthenticator(opts: AuthOptions): Authenticator {
  const { auth } = opts;
  const raw = resolveSecret(opts);
  // Imported once: given the raw bytes, jose imports them into WebCrypto on every call, which
  // doubles the cost of a verify (a reconnect storm is thousands of them).
  const secret = raw
    ? crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
        'verify',
      ])
    : undefined;
  const jwks: JWTVerifyGetKey | undefined = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl))
    : undefined;
  const verifyOpts = {
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
    algorithms: jwks ? ['RS256', 'ES256', 'RS384', 'ES384', 'PS256', 'EdDSA'] : ['HS256'],
  };
  return {
    async verify(token) {
      try {
        const { payload } = jwks
          ? await jwtVerify(token, jwks, verifyOpts)
          : await jwtVerify(token, await secret!, verifyOpts);
        // The sub is the user id everywhere: it must be in the id set (docs/protocol.md).
        if (!isValidId(payload.sub)) throw AppError.unauthorized('token has no valid sub claim');
        if (payload.exp === undefined) throw AppError.unauthorized('token has no exp claim');
        const name = typeof payload.name === 'string' ? payload.name : payload.sub;
        // The name is shown to others and stored (a nickname): safe text, bounded.
        if (name === '' || name.length > NAME_MAX_LENGTH || !isSafeText(name)) {
          throw AppError.unauthorized('token has an invalid name claim');
        }
        const grants = Array.isArray(payload.grants)
          ? payload.grants.filter((g): g is string => typeof g === 'string')
          : [];
        return {
          userId: payload.sub,
          name,
          grants,
          expiresAt: payload.exp * 1000,
          ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
          issuedAt: (payload.iat ?? 0) * 1000,
        };
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw AppError.unauthorized(`invalid token: ${(err as Error).message}`);
      }
    },
    async mint(userId, { name, ttlSec, grants } = {}) {
      if (!secret) throw new Error('token minting needs PARLEY_JWT_SECRET (server uses JWKS)');
      const jwt = new SignJWT({ name: name ?? userId, ...(grants ? { grants } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        // A token of its own id, so that it can be revoked alone (`POST /api/admin/revocations`).
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${ttlSec ?? auth.tokenTtlSec}s`);
      if (auth.issuer) jwt.setIssuer(auth.issuer);
      if (auth.audience) jwt.setAudience(auth.audience);
      return jwt.sign(await secret);
    },
  };
}

/** The token of an `Authorization: Bearer <jwt>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
}
