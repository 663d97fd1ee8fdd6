import type { TabMessage } from './tabs.js';

/**
 * What the client knows of its session, one value at a time. `at`: when the state began (ms
 * since the epoch), so that a tab ignores another tab's message older than what it has.
 *
 * - `unknown`: a fresh client; the cookie or the storage may still hold a session (`refresh()`
 *   tells).
 * - `signed-in`: an access token, when it expires and when to refresh it (`dueAt`), by this
 *   machine's clock.
 * - `signed-out`: after a logout (here or in another tab) or a refused refresh; calls go out
 *   without a token until a login or a refresh succeeds.
 *
 * A refresh under way is not a state of its own: the current token stays in use meanwhile, and
 * the refresh ends in one of these (see `createExchange` in client.ts: one refresh at a time).
 */
export type SessionState =
  | { readonly kind: 'unknown'; readonly at: 0 }
  | { readonly kind: 'signed-out'; readonly at: number }
  | { readonly kind: 'signed-in'; readonly at: number; readonly token: string; readonly expiresAt: number; readonly dueAt: number };

type TokenMessage = Extract<TabMessage, { t: 'token' }>;

export interface Session {
  /** A new object at every transition: `session.state !== seen` tells that something happened. */
  readonly state: SessionState;
  /** Installs a new access token: this tab's or one another tab shared (the message that shares it). */
  signIn(token: TokenMessage): void;
  /** Forgets the session; `notify`: call `onSessionExpired`, if a session was live. */
  signOut(notify: boolean): void;
  /** Turns the automatic refresh off for good (`stop()`); the session is kept. */
  stopTimer(): void;
}

/** The shortest wait of the automatic refresh timer. */
const MIN_TIMER_MS = 1000;

/** The token to send in this state, if any. */
export const tokenOf = (state: SessionState): string | null => (state.kind === 'signed-in' ? state.token : null);

/** A live token that is not yet due for a refresh. */
export const isFresh = (state: SessionState, now: number): boolean => state.kind === 'signed-in' && now < state.dueAt;

/**
 * The session state machine: every transition goes through `enter`, which also owns the automatic
 * refresh timer. One timer at the token's refresh time while a session is live, set again at every
 * new token (this tab's or another's), cleared when the session ends. Tabs that share their tokens
 * all wake at the same time, and the lock lets one of them refresh: the others find the token it
 * posted (README "Several tabs").
 */
export function createSession(
  autoRefresh: boolean,
  now: () => number,
  refresh: () => Promise<unknown>,
  onSessionExpired: (() => void) | undefined,
): Session {
  let state: SessionState = { kind: 'unknown', at: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;

  function enter(next: SessionState): void {
    state = next;
    schedule();
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = undefined;
    if (autoRefresh && state.kind === 'signed-in') arm(state.dueAt - now());
  }

  /** At least a second apart: a server that answers tokens already due cannot make it spin. */
  function arm(delayMs: number): void {
    timer = setTimeout(
      () => {
        timer = undefined;
        refresh().then(schedule, () => {
          // The server could not answer (network, 503): try again a little later while the token
          // is still good; once it has expired, the next call refreshes.
          const left = state.kind === 'signed-in' ? state.expiresAt - now() : 0;
          if (timer === undefined && autoRefresh && left > 0) arm(Math.min(5000, left / 2));
        });
      },
      Math.max(MIN_TIMER_MS, delayMs),
    );
    // Node: a pending refresh must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  }

  return {
    get state() {
      return state;
    },
    signIn: ({ at, token, exp, due }) => enter({ kind: 'signed-in', at, token, expiresAt: exp, dueAt: due }),
    signOut(notify) {
      const had = state.kind === 'signed-in';
      enter({ kind: 'signed-out', at: now() });
      if (notify && had) {
        try {
          onSessionExpired?.();
        } catch {
          // the app's callback must not break the client
        }
      }
    },
    stopTimer() {
      autoRefresh = false;
      schedule();
    },
  };
}
