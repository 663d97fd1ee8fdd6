import { isIP } from 'node:net';
import express, { type Request, type Response, type Router } from 'express';
import type { ResolvedAuthOptions } from '../config/index.js';
import { originOf } from '../config/values.js';
import {
  InternalError,
  InvalidCredentialsError,
  InvalidGrantError,
  InvalidRequestError,
  MissingTokenError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyAttemptsError,
} from '../errors.js';
import type { LoginThrottle } from '../tokens/login-throttle.js';
import type { AccessClaims, SignIn } from '../tokens/access-token.js';
import { publicJwks } from '../tokens/jwks.js';
import type { ClientContext, IssuedTokens, TokenService } from '../tokens/token-service.js';
import { assertAmr, assertAuthUser } from '../tokens/user.js';
import { ownField } from '../json.js';
import type { AuthUser, RevokeEvent, StartSessionOptions, TokenResponse, VerifyCredentials } from '../types.js';
import { bearerToken } from './bearer.js';
import { assertNotCrossSite, isSafeMethod } from './csrf.js';
import type { HookRunner } from './hooks.js';
import { serveJwks } from './jwks.js';
import { learnMountPath } from './mount-path.js';
import { errorMiddleware, failRequest, handle as handleAsync, sendJson, type ErrorObserver } from './respond.js';
import {
  assertClientTransport,
  clearRefreshCookie,
  hasCookie,
  objectBody,
  readRefreshToken,
  refreshCookie,
  setRefreshCookie,
  type RefreshCookie,
  type Transport,
} from './transport.js';

const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_BYTES = 1024;
const MAX_USER_AGENT_LENGTH = 256;

/** What `createEndpoints` gives `createAuth`: the router, and `startSession` sharing its cookie. */
export interface Endpoints {
  router: Router;
  startSession(req: Request, res: Response, user: AuthUser, options?: StartSessionOptions): Promise<TokenResponse>;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** What the endpoint handlers share, built once by `createEndpoints`. */
interface EndpointContext {
  service: TokenService;
  runHook: HookRunner;
  transport: Transport;
  cookie: RefreshCookie;
  trustedOrigins: ResolvedAuthOptions['trustedOrigins'];
  now: () => number;
}

/**
 * The auth endpoints (README "Endpoints"): `POST /login` (when there is a `verifyCredentials`),
 * `/refresh`, `/logout`, `/logout-all`, `GET /sessions`, `DELETE /sessions/:id`, parsing their
 * own JSON bodies and cookies, and `GET /jwks.json` (the public keys); and `startSession`, which
 * starts a session from any route with the same cookie. `createAuth` builds them from options
 * resolved once. Each endpoint's handler is a function below.
 */
export function createEndpoints(
  config: ResolvedAuthOptions,
  service: TokenService,
  throttle: LoginThrottle | undefined,
  runHook: HookRunner,
  observe: ErrorObserver,
): Endpoints {
  const { verifyCredentials, trustedOrigins, bodyLimitBytes: bodyLimit, now } = config;
  const { transport } = config.refreshToken;
  const router = express.Router();
  const mountPath = learnMountPath(router);
  const cookie = refreshCookie(config.refreshToken.cookie, mountPath);
  const handle = (handler: Handler) => handleAsync(handler, observe);

  const context: EndpointContext = { service, runHook, transport, cookie, trustedOrigins, now };

  /**
   * CSRF applies to every `/login`, and to every `/refresh` and `/logout` with cookie transport: a
   * cross-site request carries no SameSite cookie, yet its response could set or clear one. With
   * body transport, to those that send the cookie anyway.
   */
  const refuseCrossSite =
    (when: 'always' | 'cookie-borne'): express.RequestHandler =>
    (req, _res, next) => {
      if (when === 'always' || transport === 'cookie' || hasCookie(req, cookie.name)) assertNotCrossSite(req, trustedOrigins);
      next();
    };

  const json = express.json({ limit: bodyLimit, strict: true });
  router.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    mountPath.confirm(req);
    // Also when an app-level parser read the body first: its limit may be larger than ours, and a
    // chunked or compressed body has no Content-Length that tells its size.
    if (Number(req.headers['content-length']) > bodyLimit || parsedSize(req.body) > bodyLimit)
      return failRequest(req, res, new PayloadTooLargeError(), observe);
    next();
  });

  if (verifyCredentials) router.post('/login', refuseCrossSite('always'), json, handle(login(context, verifyCredentials, throttle)));
  router.post('/refresh', refuseCrossSite('cookie-borne'), json, handle(refresh(context)));
  router.post('/logout', refuseCrossSite('cookie-borne'), json, handle(logout(context)));
  router.post('/logout-all', handle(logoutAll(context)));
  router.get('/sessions', handle(listSessions(context)));
  router.delete('/sessions/:id', handle(deleteSession(context)));
  router.get('/jwks.json', serveJwks(publicJwks(config.accessToken.keys)));

  router.use(errorMiddleware(observe));
  return { router, startSession: (req, res, user, options = {}) => startSession(context, req, res, user, options) };
}

/** Sets the refresh cookie (cookie transport) and gives the body of the token response. */
function tokenResponse({ transport, cookie, now }: EndpointContext, res: Response, tokens: IssuedTokens): TokenResponse {
  const body: TokenResponse = { accessToken: tokens.accessToken, tokenType: 'Bearer', expiresIn: tokens.expiresIn };
  if (transport === 'body') body.refreshToken = tokens.refreshToken;
  else setRefreshCookie(res, cookie, tokens.refreshToken, tokens.session.expiresAt - now());
  return body;
}

/** Tells `onRevoke` of the sessions a request revoked, when there are any. */
async function revoked({ runHook }: EndpointContext, event: RevokeEvent): Promise<void> {
  if (event.sessionIds.length > 0) await runHook('onRevoke', event);
}

/** `auth.startSession`: a new session for a user the app signed in itself, with the router's cookie. */
async function startSession(
  context: EndpointContext,
  req: Request,
  res: Response,
  user: AuthUser,
  options: StartSessionOptions,
): Promise<TokenResponse> {
  const { service, runHook, transport, trustedOrigins, now } = context;
  assertAuthUser(user, 'startSession: user');
  const signIn = signInOf(options, now());
  const allowed = crossSiteOriginsOf(options.allowCrossSite, trustedOrigins);
  // Login CSRF: a cross-site form posted to the app's sign-up route would sign the victim's
  // browser in to an account the attacker owns, as /login would. GET sign-ins (an OAuth
  // callback) arrive cross-site by design and carry their own proof that this browser began
  // them (`state`), as does a cross-site POST the app vouches for with `allowCrossSite`.
  if (transport === 'cookie' && !isSafeMethod(req) && allowed !== true) assertNotCrossSite(req, allowed);
  const { tokens, evictedSessionIds } = await service.startSession(user, clientOf(req), signIn);
  await runHook('onLogin', { user, sessionId: tokens.session.familyId, amr: signIn.amr, evictedSessionIds, req });
  await revoked(context, { userId: user.id, sessionIds: evictedSessionIds, reason: 'session_limit', req });
  res.set('Cache-Control', 'no-store');
  return tokenResponse(context, res, tokens);
}

/** `POST /login`: the throttle, then `verifyCredentials`, then a new session. */
function login(context: EndpointContext, verifyCredentials: VerifyCredentials, throttle: LoginThrottle | undefined): Handler {
  const { runHook, transport } = context;
  return async (req, res) => {
    const { username, password } = readCredentials(req.body);
    assertClientTransport(objectBody(req.body), transport);
    // Before verifyCredentials, so a refusal costs no password check and is the same for every
    // username (README "Password guessing").
    const decision = throttle ? await throttle.check(username, req.ip) : undefined;
    if (decision && !decision.allowed) {
      const { limit, retryAfter, ip } = decision;
      await runHook('onLoginThrottled', { username, ip, limit, retryAfter, req });
      throw new TooManyAttemptsError(retryAfter);
    }
    let user: AuthUser | null;
    try {
      user = await verifyCredentials(username, password, req);
      if (user !== null && user !== undefined) assertAuthUser(user, 'verifyCredentials');
    } catch (error) {
      throw new InternalError(error);
    }
    if (user === null || user === undefined) {
      await runHook('onLoginFailed', { username, req });
      throw new InvalidCredentialsError();
    }
    // Before the session is written: a store that fails here has issued nothing.
    if (decision) await throttle!.succeeded(decision.attempt);
    sendJson(res, 200, await startSession(context, req, res, user, { amr: ['pwd'] }));
  };
}

/** `POST /refresh`: rotates the presented token; a refusal clears the cookie it came in. */
function refresh(context: EndpointContext): Handler {
  const { service, runHook, transport, cookie } = context;
  return async (req, res) => {
    const presented = readRefreshToken(req, cookie, transport);
    if (!presented) throw new InvalidGrantError('missing');
    const result = await service.refresh(presented.token);
    if (!('tokens' in result)) {
      if (presented.fromCookie) clearRefreshCookie(res, cookie);
      if (result.outcome === 'invalid') throw new InvalidGrantError(result.reason);
      const { userId, sessionId } = result;
      if (result.outcome === 'reused') await runHook('onReuseDetected', { userId, sessionId, req });
      await revoked(context, { userId, sessionIds: [sessionId], reason: result.outcome, req });
      throw new InvalidGrantError(result.outcome);
    }
    const { session } = result.tokens;
    await runHook('onRefresh', { userId: session.userId, sessionId: session.familyId, retried: result.outcome === 'retried', req });
    sendJson(res, 200, tokenResponse(context, res, result.tokens));
  };
}

/** `POST /logout`: ends the refresh token's session and denylists the Bearer token; idempotent. */
function logout(context: EndpointContext): Handler {
  const { service, runHook, transport, cookie } = context;
  return async (req, res) => {
    const presented = readRefreshToken(req, cookie, transport);
    const access = verifiedOrUndefined(() => {
      const token = bearerToken(req);
      return token === undefined ? undefined : service.authenticator.verify(token);
    });
    const { userId, sessionIds } = await service.logout(presented?.token, access);
    if (presented?.fromCookie) clearRefreshCookie(res, cookie);
    await runHook('onLogout', { userId, sessionIds, kind: 'logout', req });
    if (userId !== undefined) await revoked(context, { userId, sessionIds, reason: 'logout', req });
    res.status(204).end();
  };
}

/** `POST /logout-all`: revokes every session of the Bearer token's user. */
function logoutAll(context: EndpointContext): Handler {
  const { service, runHook, cookie } = context;
  return async (req, res) => {
    const access = await authenticate(service, req);
    const sessionIds = await service.revokeUser(access.sub);
    clearRefreshCookie(res, cookie);
    await runHook('onLogout', { userId: access.sub, sessionIds, kind: 'logout-all', req });
    await revoked(context, { userId: access.sub, sessionIds, reason: 'logout_all', req });
    res.status(204).end();
  };
}

/** `GET /sessions`: the user's live sessions, the Bearer token's own marked `current`. */
function listSessions({ service }: EndpointContext): Handler {
  return async (req, res) => {
    const access = await authenticate(service, req);
    const sessions = await service.listSessions(access.sub);
    sendJson(res, 200, { sessions: sessions.map((session) => ({ ...session, current: session.id === access.sid })) });
  };
}

/** `DELETE /sessions/:id`: revokes one of the user's own sessions; 404 for any other id. */
function deleteSession(context: EndpointContext): Handler {
  const { service, runHook, cookie } = context;
  return async (req, res) => {
    const access = await authenticate(service, req);
    const sessionId = String(req.params.id);
    if (!(await service.revokeSession(sessionId, { userId: access.sub }))) throw new NotFoundError();
    if (sessionId === access.sid) clearRefreshCookie(res, cookie);
    await runHook('onLogout', { userId: access.sub, sessionIds: [sessionId], kind: 'revoke-session', req });
    await revoked(context, { userId: access.sub, sessionIds: [sessionId], reason: 'session_deleted', req });
    res.status(204).end();
  };
}

/** The Bearer-authenticated endpoints always check revocation: a revoked session manages nothing. */
async function authenticate(service: TokenService, req: Request): Promise<AccessClaims> {
  const token = bearerToken(req);
  if (token === undefined) throw new MissingTokenError();
  return service.authenticator.authenticate(token);
}

/** The sign-in `startSession` was told of, checked: `amr` method names, an `authTime` not after now. */
function signInOf(options: StartSessionOptions, now: number): SignIn {
  const { amr = [], authTime = now } = options;
  assertAmr(amr, 'startSession: options.amr');
  const time = authTime instanceof Date ? authTime.getTime() : authTime;
  if (typeof time !== 'number' || !Number.isFinite(time) || time <= 0 || time > now) {
    throw new TypeError('startSession: options.authTime must be a Date or ms since the epoch, not after now');
  }
  return { authTime: time, amr: [...amr] };
}

/**
 * The origins `startSession` lets a cross-site POST come from: `trustedOrigins`, and those of
 * `allowCrossSite` (`true`: any, without a check).
 */
function crossSiteOriginsOf(allowCrossSite: unknown, trustedOrigins: ReadonlySet<string>): ReadonlySet<string> | true {
  if (allowCrossSite === undefined || allowCrossSite === false) return trustedOrigins;
  if (allowCrossSite === true) return true;
  const origins = Array.isArray(allowCrossSite) ? allowCrossSite.map(originOf) : [undefined];
  if (origins.length === 0 || origins.includes(undefined)) {
    throw new TypeError(
      'startSession: options.allowCrossSite must be a boolean or a non-empty list of origins such as https://accounts.example.com',
    );
  }
  return new Set([...trustedOrigins, ...(origins as string[])]);
}

function readCredentials(body: unknown): { username: string; password: string } {
  const fields = objectBody(body);
  const username = ownField(fields, 'username');
  const password = ownField(fields, 'password');
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new InvalidRequestError('username and password are required, as strings.');
  }
  if (username.length === 0 || username.length > MAX_USERNAME_LENGTH) {
    throw new InvalidRequestError(`username must be 1 to ${MAX_USERNAME_LENGTH} characters.`);
  }
  if (password.length === 0 || Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new InvalidRequestError(`password must be 1 to ${MAX_PASSWORD_BYTES} bytes.`);
  }
  return { username, password };
}

/** `req.ip` comes from `X-Forwarded-For` behind `trust proxy`: the client writes it, so keep only an address. */
function clientOf(req: Request): ClientContext {
  const ip = req.ip !== undefined && isIP(req.ip) ? req.ip : undefined;
  return { userAgent: req.get('user-agent')?.slice(0, MAX_USER_AGENT_LENGTH), ip };
}

/** The size of a body another parser read, measured as JSON: about its size on the wire, after any decompression. */
function parsedSize(body: unknown): number {
  if (body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (Buffer.isBuffer(body)) return body.length;
  try {
    return Buffer.byteLength(JSON.stringify(body) ?? '');
  } catch {
    return Infinity; // not JSON-like (a cycle, a BigInt): not a body this router reads
  }
}

function verifiedOrUndefined(verify: () => AccessClaims | undefined): AccessClaims | undefined {
  try {
    return verify();
  } catch {
    return undefined;
  }
}
