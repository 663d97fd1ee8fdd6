// Type-only: the server's own type for the answer of `/login` and `/refresh` (erased from the bundle).
import type { TokenResponse } from '../types.js';
import { errorCodeOf, errorOf } from './errors.js';
import { resolveOptions, type ClientConfig } from './options.js';
import { createSession, isFresh, tokenOf, type Session } from './session.js';
import { connectTabs, type Tabs } from './tabs.js';
import type { AccessTokenClaims, AuthClient, AuthClientOptions, SessionsResponse } from './types.js';

/** A refresh ends `ok` (a live token), `refused` (no session) or throws (the server could not say). */
type Outcome = 'ok' | 'refused';

/** What the router calls share: the session, the tabs, and the requests that change the session. */
interface Exchange {
  session: Session;
  tabs: Tabs;
  /** A POST to the auth router. */
  post(path: string, request?: { body?: unknown; bearer?: string | null; keepalive?: boolean }): Promise<Response>;
  /** Takes a token response: keeps the refresh token (body transport), installs the access token and tells the other tabs. */
  accept(body: TokenResponse): Promise<void>;
  /** Ends the session here (and in storage) and in the other tabs. */
  signOut(notify: boolean): Promise<void>;
  /** One refresh at a time in this client, and across tabs when shared. */
  refresh(): Promise<Outcome>;
}

/**
 * The client half of express-refresh-tokens: keeps the access token in memory, adds it to
 * requests, refreshes before it expires and on a 401 `invalid_token`, one refresh at a time
 * (across tabs, in browsers), and replays the request once.
 */
export function createAuthClient(options: AuthClientOptions = {}): AuthClient {
  const config = resolveOptions(options);
  const { authUrl, bodyTransport, storage } = config;
  const exchange = createExchange(config, options.onSessionExpired);
  const { session, tabs, post, accept, signOut, refresh } = exchange;
  const authFetch = createFetch(config, exchange);

  /** A call to a Bearer endpoint of the router through `authFetch`; an error answer throws. */
  async function call(method: string, path: string): Promise<Response> {
    const res = await authFetch(authUrl + path, { method });
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  return {
    login: (username, password) =>
      tabs.lock(async () => {
        // The server refuses a transport other than its own (400 transport_mismatch) before it
        // checks the password: no session is started that this client could not keep.
        const res = await post('/login', { body: { username, password, transport: bodyTransport ? 'body' : 'cookie' } });
        if (!res.ok) throw await errorOf(res);
        const tokens = (await res.json()) as TokenResponse;
        await accept(tokens);
        return decode(tokens.accessToken);
      }),

    logout: () =>
      tabs.lock(async () => {
        const bearer = tokenOf(session.state);
        const refreshToken = bodyTransport ? await storage.get() : undefined;
        await signOut(false);
        const res = await post('/logout', { body: refreshToken ? { refreshToken } : undefined, bearer });
        if (!res.ok) throw await errorOf(res);
      }),

    async logoutAll() {
      await call('POST', '/logout-all');
      await signOut(false);
    },

    async sessions() {
      const res = await call('GET', '/sessions');
      return ((await res.json()) as SessionsResponse).sessions;
    },

    async revokeSession(id) {
      const token = tokenOf(session.state);
      const current = token && decode(token).sid;
      await call('DELETE', `/sessions/${encodeURIComponent(id)}`);
      if (id === current) await signOut(false);
    },

    fetch: authFetch,

    stop() {
      session.stopTimer();
      tabs.close();
    },

    refresh: async () => (await refresh()) === 'ok',

    get accessToken() {
      return tokenOf(session.state);
    },
    get expiresAt() {
      const state = session.state;
      return state.kind === 'signed-in' ? new Date(state.expiresAt) : null;
    },
    get claims() {
      const token = tokenOf(session.state);
      return token ? decode(token) : null;
    },
  };
}

/**
 * The session, the tabs' lock and channel, and the requests to the auth router that change the
 * session (login and logout aside): token responses taken in, sign-outs, and the single-flight
 * refresh.
 */
function createExchange(config: ClientConfig, onSessionExpired: (() => void) | undefined): Exchange {
  const { authUrl, bodyTransport, storage, now, leewayMs, send } = config;
  const credentials = bodyTransport ? 'omit' : 'include';
  const session = createSession(config.autoRefresh, now, () => refresh(), onSessionExpired);
  const tabs = connectTabs(`express-refresh-tokens ${authUrl}`, config.shareAcrossTabs, (message) => {
    if (message.at < session.state.at) return;
    if (message.t === 'token') session.signIn(message);
    else if (message.t === 'out') session.signOut(true);
  });
  let inflight: Promise<Outcome> | undefined;

  /**
   * `keepalive`: the request outlives the page, and the browser still stores the answer's cookie
   * if the tab is closed or reloaded meanwhile.
   */
  function post(
    path: string,
    { body, bearer, keepalive = false }: { body?: unknown; bearer?: string | null; keepalive?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    return send(new Request(authUrl + path, { method: 'POST', headers, credentials, keepalive, body: body ? JSON.stringify(body) : null }));
  }

  async function accept(body: TokenResponse): Promise<void> {
    if (bodyTransport) {
      if (!body.refreshToken) throw new TypeError("transport 'body' needs the server's refreshToken.transport: 'body'");
      await storage.set(body.refreshToken);
    }
    const at = now();
    const lifetime = body.expiresIn * 1000;
    const message = {
      t: 'token' as const,
      at,
      token: body.accessToken,
      exp: at + lifetime,
      due: at + lifetime - Math.min(leewayMs, lifetime / 4),
    };
    session.signIn(message);
    tabs.post(message);
  }

  async function signOut(notify: boolean): Promise<void> {
    session.signOut(notify);
    tabs.post({ t: 'out', at: session.state.at });
    if (bodyTransport) await storage.delete();
  }

  function refresh(): Promise<Outcome> {
    return (inflight ??= refreshLocked().finally(() => (inflight = undefined)));
  }

  async function refreshLocked(): Promise<Outcome> {
    const seen = session.state;
    const heard = tabs.heard;
    return tabs.lock(async (waited): Promise<Outcome> => {
      // Another tab held the lock: it may have refreshed (or logged in or out), and its messages,
      // posted before it let go, may still be on their way. Wait for them rather than refresh
      // again: refreshing after it would not be reuse (the cookie or the storage holds its new
      // token by now), but it would be one refresh more.
      if (waited) await tabs.news(heard);
      const state = session.state;
      if (state !== seen && (state.kind === 'signed-out' || isFresh(state, now()))) return state.kind === 'signed-in' ? 'ok' : 'refused';
      return refreshNow();
    });
  }

  /** `POST /refresh`, under the lock. */
  async function refreshNow(): Promise<Outcome> {
    let body: { refreshToken: string } | undefined;
    if (bodyTransport) {
      const stored = await storage.get();
      if (!stored) {
        session.signOut(true); // nothing to refresh with: tell the app if it had a session
        return 'refused';
      }
      body = { refreshToken: stored };
    }
    // With cookie transport the server may rotate although this page goes away (a reload, a
    // closed tab) before the answer comes: keepalive lets the browser still store the new
    // cookie, so that the next tab does not present the rotated one. (Body transport: the
    // token in the answer is lost with the page either way; the grace window is what helps.)
    const res = await post('/refresh', { body, keepalive: !bodyTransport });
    if (res.ok) {
      await accept((await res.json()) as TokenResponse);
      return 'ok';
    }
    if (res.status !== 401) throw await errorOf(res);
    // Refused: the session is over. Tell the app once (every concurrent caller shares this run).
    await signOut(true);
    return 'refused';
  }

  return { session, tabs, post, accept, signOut, refresh };
}

/**
 * `auth.fetch`: the Bearer header to the API's origin only, a refresh first when the token is
 * due, and one refresh and replay on a 401 `invalid_token`. Any other 401 (`missing_token`,
 * `insufficient_user_authentication`: a refresh keeps the sign-in time) is handed back as it is.
 */
function createFetch({ base, isApi, send, now }: ClientConfig, { session, refresh }: Exchange): AuthClient['fetch'] {
  /** Refreshes, unless the server could not answer: the caller goes on with what it has, and a 401 will tell. */
  const tryRefresh = () =>
    refresh().then(
      () => true,
      () => false,
    );

  /** The token to send now: refreshes first when it is due, or when the client does not know yet. */
  async function currentToken(): Promise<string | null> {
    if (session.state.kind === 'signed-out') return null;
    if (!isFresh(session.state, now())) await tryRefresh();
    return tokenOf(session.state);
  }

  return async (input, init) => {
    const url = typeof input === 'string' && !/^[a-z][a-z\d+.-]*:/i.test(input) ? base + (input.startsWith('/') ? '' : '/') + input : input;
    const request = new Request(url, init);
    if (!isApi(request.url)) return send(request); // never leak the token elsewhere
    const used = await currentToken();
    if (!used) return send(request);
    // Cloned before sending: a stream body can be read once, and the replay needs its own.
    const replay = request.clone();
    request.headers.set('authorization', `Bearer ${used}`);
    const res = await send(request);
    if (res.status !== 401 || (await errorCodeOf(res)) !== 'invalid_token') return res;
    if (tokenOf(session.state) === used && !(await tryRefresh())) return res;
    const token = tokenOf(session.state);
    if (!token || token === used) return res; // refused (onSessionExpired was called) or unchanged
    res.body?.cancel().catch(() => undefined); // the first answer is dropped: free its connection
    replay.headers.set('authorization', `Bearer ${token}`);
    return send(replay);
  };
}

/** The payload of a JWT (base64url JSON), UTF-8 aware. */
function decode(jwt: string): AccessTokenClaims {
  const base64 = jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))));
}
