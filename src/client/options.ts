import type { AuthClientOptions, TokenStorage } from './types.js';

/** `AuthClientOptions` checked, with their defaults: read once, by `createAuthClient`. */
export interface ClientConfig {
  /** `baseUrl` without its trailing slashes. */
  base: string;
  /** The API's origin: the only one the Bearer header and the credentials are ever sent to. */
  isApi: (url: string) => boolean;
  /** Where every auth call (the password, the cookie, the Bearer header) goes. */
  authUrl: string;
  bodyTransport: boolean;
  send: (request: Request) => Promise<Response>;
  storage: TokenStorage;
  now: () => number;
  leewayMs: number;
  autoRefresh: boolean;
  shareAcrossTabs: boolean;
}

/** Checks the options (a `TypeError` names the one that is wrong) and fills in the defaults. */
export function resolveOptions(options: AuthClientOptions): ClientConfig {
  const g = globalThis as any;
  const base = (options.baseUrl ?? g.location?.origin ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(base)) throw new TypeError('createAuthClient: baseUrl must be an http(s) URL (required outside browsers)');
  const origin = new URL(base).origin;
  const isApi = (url: string) => new URL(url).origin === origin;
  // Appended to baseUrl as text: without its leading '/', '.evil.com/auth' or '@evil.com/auth'
  // would change the host (https://api.example.com.evil.com/auth). Every auth call goes to
  // authUrl: checked once, here.
  const authPath: unknown = options.authPath ?? '/auth';
  const authUrl = typeof authPath === 'string' && authPath.startsWith('/') ? base + authPath.replace(/\/+$/, '') : '';
  if (!authUrl || !isApi(authUrl)) throw new TypeError("createAuthClient: authPath must be a path starting with '/' (e.g. '/auth')");
  const bodyTransport = options.transport === 'body';
  if (!bodyTransport && options.transport !== undefined && options.transport !== 'cookie') {
    throw new TypeError("createAuthClient: transport must be 'cookie' or 'body'");
  }
  let memory: string | null | undefined;
  return {
    base,
    isApi,
    authUrl,
    bodyTransport,
    send: options.fetch ?? ((request: Request) => g.fetch(request) as Promise<Response>),
    storage: options.storage ?? {
      get: () => memory,
      set: (token: string) => void (memory = token),
      delete: () => void (memory = undefined),
    },
    now: options.now ?? Date.now,
    leewayMs: (options.refreshLeewaySeconds ?? 30) * 1000,
    // Default on in a browser page: a page left open keeps a live token, so what it shows (and the
    // next call) never waits on an expired one. Elsewhere a call refreshes when it needs to.
    autoRefresh: options.autoRefresh ?? !!g.document,
    shareAcrossTabs: options.shareAcrossTabs ?? (!bodyTransport && !!g.document),
  };
}
