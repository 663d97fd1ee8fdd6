export { createAuthClient } from './client.js';
export { AuthClientError, type AuthClientErrorCode } from './errors.js';
export type { AccessTokenClaims, AuthClient, AuthClientOptions, SessionInfo, SessionsResponse, TokenStorage } from './types.js';
