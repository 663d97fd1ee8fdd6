import { errorCodeOf, errorOf } from './errors.js';
import { connectTabs, type TabMessage } from './tabs.js';
// Type-only: the server's own type for the answer of `/login` and `/refresh` (erased from the bundle).
import type { TokenResponse } from '../types.js';
import type { AccessTokenClaims, AuthClient, AuthClientOptions, SessionsResponse } from './types.js';


/**
 * Session state: `undefined` until the client knows (a fresh page may still have the cookie),
 * `true` with an access token, `false` after logout or a refused refresh.
 */
type SignedIn = boolean | undefined;

/** A refresh ends `ok` (a live token), `refused` (no session) or throws (the server could not say). */
type Outcome = 'ok' | 'refused';

/** The shortest wait of the automatic refresh timer. */
const MIN_TIMER_MS = 1000;

/** How long a tab that waited for another tab's refresh waits for its message. */
const MESSAGE_WAIT_MS = 1000;

/**
 * The client half of express-refresh-tokens: keeps the access token in memory, adds it to
 * requests, refreshes before it expires and on a 401 `invalid_token`, one refresh at a time
 * (across tabs, in browsers), and replays the request once.
 */
export function createAuthClient(options: AuthClientOptions = {}): AuthClient {
  const g = globalThis as any;
  const base = (options.baseUrl ?? g.location?.origin ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(base)) throw new TypeError('createAuthClient: baseUrl must be an http(s) URL (required outside browsers)');
  const origin = new URL(base).origin;
  /** The API's origin: the only one the Bearer header and the credentials are ever sent to. */
  const isApi = (url: string) => new URL(url).origin === origin;
  // Appended to baseUrl as text: without its leading '/', '.evil.com/auth' or '@evil.com/auth'
  // would change the host (https://api.example.com.evil.com/auth). Every auth call (the password,
  // the cookie, the Bearer header) goes to authUrl: checked once, here.
  const authPath: unknown = options.authPath ?? '/auth';
  const authUrl = typeof authPath === 'string' && authPath.startsWith('/') ? base + authPath.replace(/\/+$/, '') : '';
  if (!authUrl || !isApi(authUrl)) throw new TypeError("createAuthClient: authPath must be a path starting with '/' (e.g. '/auth')");
  const bodyTransport = options.transport === 'body';
  if (!bodyTransport && options.transport !== undefined && options.transport !== 'cookie') {
    throw new TypeError("createAuthClient: transport must be 'cookie' or 'body'");
  }
  const send = options.fetch ?? ((request: Request) => g.fetch(request) as Promise<Response>);
  let memory: string | null | undefined;
  const storage = options.storage ?? {
    get: () => memory,
    set: (token: string) => void (memory = token),
    delete: () => void (memory = undefined),
  };
  const now = options.now ?? Date.now;
  const leewayMs = (options.refreshLeewaySeconds ?? 30) * 1000;
  const credentials = bodyTransport ? 'omit' : 'include';
  // Default on in a browser page: a page left open keeps a live token, so what it shows (and the
  // next call) never waits on an expired one. Elsewhere a call refreshes when it needs to.
  let autoRefresh = options.autoRefresh ?? !!g.document;
  let timer: ReturnType<typeof setTimeout> | undefined;

  let token: string | null = null;
  let expiresAt = 0;
  let dueAt = 0; // when to refresh proactively
  let signedIn: SignedIn;
  let stateAt = 0; // when the current state began, to ignore older messages from other tabs
  let version = 0; // counts state changes, local or from other tabs
  let heard = 0; // counts messages from other tabs
  let inflight: Promise<Outcome> | undefined;
  let wake: (() => void) | undefined; // ends the wait for another tab's message

  /**
   * The automatic refresh: one timer at the token's refresh time while a session is live, set
   * again at every new token (this tab's or another's), cleared when the session ends. Tabs that
   * share their tokens all wake at the same time, and the lock lets one of them refresh: the others
   * find the token it posted (README "Several tabs").
   */
  function schedule(): void {
    clearTimeout(timer);
    timer = undefined;
    if (!autoRefresh || !signedIn) return;
    arm(dueAt - now());
  }

  /** At least a second apart: a server that answers tokens already due cannot make it spin. */
  function arm(delayMs: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      refreshShared().then(
        () => schedule(),
        () => {
          // The server could not answer (network, 503): try again a little later while the token
          // is still good; once it has expired, the next call refreshes.
          const left = expiresAt - now();
          if (timer === undefined && autoRefresh && signedIn && left > 0) arm(Math.min(5000, left / 2));
        },
      );
    }, Math.max(MIN_TIMER_MS, delayMs));
    // Node: a pending refresh must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  }

  const tabs = connectTabs(`express-refresh-tokens ${authUrl}`, options.shareAcrossTabs ?? (!bodyTransport && !!g.document), (message) => {
    heard++;
    wake?.();
    if (message.at < stateAt) return;
    if (message.t === 'token') install(message);
    else if (message.t === 'out') end(true);
  });

  function install(state: { at: number; token: string; exp: number; due: number }): void {
    token = state.token;
    expiresAt = state.exp;
    dueAt = state.due;
    signedIn = true;
    stateAt = state.at;
    version++;
    schedule();
  }

  /** Takes a token response: keeps the refresh token (body transport), installs the access token and tells the other tabs. */
  async function accept(body: TokenResponse): Promise<void> {
    if (bodyTransport) {
      if (!body.refreshToken) throw new TypeError("transport 'body' needs the server's refreshToken.transport: 'body'");
      await storage.set(body.refreshToken);
    }
    const at = now();
    const lifetime = body.expiresIn * 1000;
    const message: TabMessage = { t: 'token', at, token: body.accessToken, exp: at + lifetime, due: at + lifetime - Math.min(leewayMs, lifetime / 4) };
    install(message);
    tabs.post(message);
  }

  /** Forgets the session; `notify`: tell the app, if it had one. */
  function end(notify: boolean): void {
    const had = signedIn;
    token = null;
    signedIn = false;
    stateAt = now();
    version++;
    schedule();
    if (notify && had) {
      try {
        options.onSessionExpired?.();
      } catch {
        // the app's callback must not break the client
      }
    }
  }

  /** Ends the session here (and in storage) and in the other tabs. */
  async function signOut(notify: boolean): Promise<void> {
    end(notify);
    tabs.post({ t: 'out', at: stateAt });
    if (bodyTransport) await storage.delete();
  }

  /**
   * A POST to the auth router. `keepalive`: the request outlives the page, and the browser still
   * stores the answer's cookie if the tab is closed or reloaded meanwhile.
   */
  function post(path: string, { body, bearer, keepalive = false }: { body?: unknown; bearer?: string | null; keepalive?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    return send(new Request(authUrl + path, { method: 'POST', headers, credentials, keepalive, body: body ? JSON.stringify(body) : null }));
  }

  /** One refresh at a time in this client, and across tabs when shared. */
  function refreshShared(): Promise<Outcome> {
    return (inflight ??= refreshLocked().finally(() => (inflight = undefined)));
  }

  async function refreshLocked(): Promise<Outcome> {
    const seen = version;
    const heardBefore = heard;
    return tabs.lock(async (waited): Promise<Outcome> => {
      // Another tab held the lock: it may have refreshed (or logged in or out), and its messages,
      // posted before it let go, may still be on their way. Wait for them rather than refresh
      // again: refreshing after it would not be reuse (the cookie or the storage holds its new
      // token by now), but it would be one refresh more.
      if (waited && heard === heardBefore) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, MESSAGE_WAIT_MS);
        });
        wake = undefined;
      }
      if (version !== seen && (signedIn === false || now() < dueAt)) return signedIn ? 'ok' : 'refused';
      let body: { refreshToken: string } | undefined;
      if (bodyTransport) {
        const stored = await storage.get();
        if (!stored) {
          end(true); // nothing to refresh with: tell the app if it had a session
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
    });
  }

  /** The token to send now: refreshes first when it is due, or when the client does not know yet. */
  async function currentToken(): Promise<string | null> {
    if (signedIn === false) return null;
    if (!token || now() >= dueAt) {
      try {
        await refreshShared();
      } catch {
        // the server could not answer: go on with what we have; a 401 will tell
      }
    }
    return token;
  }

  async function authFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
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
    if (token === used) {
      try {
        await refreshShared();
      } catch {
        return res;
      }
    }
    if (!token || token === used) return res; // refused (onSessionExpired was called) or unchanged
    res.body?.cancel().catch(() => undefined); // the first answer is dropped: free its connection
    replay.headers.set('authorization', `Bearer ${token}`);
    return send(replay);
  }

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
        const bearer = token;
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
      const current = token && decode(token).sid;
      await call('DELETE', `/sessions/${encodeURIComponent(id)}`);
      if (id === current) await signOut(false);
    },

    fetch: authFetch,

    stop() {
      autoRefresh = false;
      schedule();
      tabs.close();
    },

    refresh: async () => (await refreshShared()) === 'ok',

    get accessToken() {
      return token;
    },
    get expiresAt() {
      return token ? new Date(expiresAt) : null;
    },
    get claims() {
      return token ? decode(token) : null;
    },
  };
}

/** The payload of a JWT (base64url JSON), UTF-8 aware. */
function decode(jwt: string): AccessTokenClaims {
  const base64 = jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))));
}
