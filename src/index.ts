export { createAuth, createAuthRouter } from './auth.js';
export { requireAccessToken } from './http/middleware.js';
export { jwksHandler } from './http/jwks.js';
export { createAccessTokenVerifier } from './verifier.js';
export type { JsonWebKeySet, PublicJwk } from './tokens/jwks.js';
export { authErrorHandler } from './http/respond.js';
export { getAuth } from './http/get-auth.js';
export { MemoryTokenStore } from './store/memory.js';
export type { MemoryTokenStoreOptions } from './store/memory.js';
export { RedisTokenStore, recommendedRedisOptions, recommendedClusterOptions } from './store/redis.js';
export type { RedisClient, RedisTokenStoreOptions } from './store/redis.js';
export type {
  RefreshTokenStore,
  SessionRecord,
  NewFamily,
  RotateRequest,
  RotateResult,
  FindFamilyResult,
  InvalidFamilyReason,
  LoginAttempt,
  LoginAttemptResult,
  LoginCounter,
  RevocationEvent,
  RevocationFeed,
  RevocationListener,
} from './store/types.js';
export { shardKeyOf, shardKeyOfFamily } from './shard-key.js';
export { hashPassword, verifyPassword, createCredentialsVerifier } from './passwords.js';
export type { StoredUser, CredentialsVerifierOptions } from './passwords.js';
export {
  AuthError,
  ConfigurationError,
  CsrfRejectedError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InternalError,
  InvalidCredentialsError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  NotFoundError,
  PayloadTooLargeError,
  StoreUnavailableError,
  TooManyAttemptsError,
  TransportMismatchError,
  errorCodes,
} from './errors.js';
export type { AuthErrorCode, AuthFailureReason, AccessTokenFailureReason, RefreshTokenFailureReason, CsrfFailureReason } from './errors.js';
export type * from './types.js';
