/**
 * Every default of the library, in one table. The option types' TSDoc and the README's options
 * tables state the same values; a test checks the README against this table.
 */
export const DEFAULTS = Object.freeze({
  accessToken: Object.freeze({
    /** With a `secret`; a key pair names its algorithm. */
    algorithm: 'HS256',
    expiresIn: '15m',
    clockToleranceSeconds: 5,
  }),
  refreshToken: Object.freeze({
    idleTtl: '14d',
    absoluteTtl: '90d',
    // By transport. Cookie: a browser tab closed or reloaded while its refresh is in flight loses
    // an answer the server already rotated for; the window lets the next tab, presenting the same
    // cookie, get the same successor (README "Several tabs"). Body: the client keeps the token.
    reuseGraceSeconds: Object.freeze({ cookie: 10, body: 0 }),
    maxSessionsPerUser: 100,
    transport: 'cookie',
    cookie: Object.freeze({ name: 'refresh_token', sameSite: 'strict', secure: true }),
  }),
  trustedOrigins: Object.freeze([] as string[]),
  /** README "Password guessing". */
  loginThrottle: Object.freeze({
    perUsernameAndIp: Object.freeze({ failures: 5, window: '15m' }),
    perIp: Object.freeze({ failures: 100, window: '1d' }),
    /** As express-rate-limit's `ipv6Subnet`: one host commonly holds a /64 or more. */
    ipv6Prefix: 56,
  }),
  storeTimeoutMs: 2000,
  bodyLimitBytes: 16 * 1024,
  /** The options of `requireAccessToken` that are not access-token options. */
  requireAccessToken: Object.freeze({
    optional: false,
    revocation: false,
    /** With `revocation: 'cached'`: the oldest the in-memory view may be. */
    maxStalenessMs: 1000,
    errors: 'respond',
  }),
  /** How long a client may cache the JWKS (`GET /jwks.json`, `jwksHandler`), in seconds. */
  jwksMaxAgeSeconds: 300,
  /** The options of `createAccessTokenVerifier` about fetching a JWKS. */
  accessTokenVerifier: Object.freeze({
    jwksTimeoutMs: 5000,
    jwksMaxBytes: 64 * 1024,
    /** At most one fetch per this long for a kid the cached set lacks. */
    jwksCooldown: '30s',
    /** A cached set older than this is fetched again, in the background; the old one serves meanwhile. */
    jwksCacheMaxAge: '5m',
    /** A cached set older than this is dropped when no fetch could renew it: 503 until one does. */
    jwksMaxStale: '1h',
  }),
  passwords: Object.freeze({ cost: 12 }),
  memoryStore: Object.freeze({ sweepIntervalMs: 60_000 }),
  redisStore: Object.freeze({ keyPrefix: 'ert:' }),
  postgresStore: Object.freeze({ tableName: 'ert_families' }),
} as const);
