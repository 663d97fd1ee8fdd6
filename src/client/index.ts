export { createAuthClient } from './client.js';
export { AuthClientError } from './errors.js';
export type { AccessTokenClaims, AuthClient, AuthClientOptions, SessionInfo, TokenStorage } from './types.js';
