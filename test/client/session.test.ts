import { createSession, isFresh, tokenOf } from '../../src/client/session.js';

/**
 * The client's session state machine on its own (client.test.ts drives it over HTTP): its states,
 * the one notification of a lost session, and the refresh timer it owns. Fake timers, and a clock
 * that moves with them.
 */

let clock = 0;
const now = () => clock;

/** A token message as the client (or another tab) makes it: `due` and `exp` in ms. */
const token = (at: number, due: number, exp: number) => ({ t: 'token' as const, at, token: `token-${at}`, exp, due });

function advance(ms: number): Promise<void> {
  clock += ms;
  return jest.advanceTimersByTimeAsync(ms);
}

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
  clock = 0;
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the client session', () => {
  it('starts unknown, and every transition is a new state object', () => {
    const expired = jest.fn();
    const session = createSession(false, now, () => Promise.resolve(), expired);
    expect(session.state).toEqual({ kind: 'unknown', at: 0 });
    expect(tokenOf(session.state)).toBeNull();
    expect(isFresh(session.state, 0)).toBe(false);

    session.signIn(token(1, 10, 20));
    expect(session.state).toEqual({ kind: 'signed-in', at: 1, token: 'token-1', expiresAt: 20, dueAt: 10 });
    expect(tokenOf(session.state)).toBe('token-1');
    expect([isFresh(session.state, 9), isFresh(session.state, 10)]).toEqual([true, false]);

    clock = 5;
    const signedIn = session.state;
    session.signOut(true);
    expect(session.state).toEqual({ kind: 'signed-out', at: 5 });
    expect(session.state).not.toBe(signedIn);
    expect(expired).toHaveBeenCalledTimes(1);

    const again = session.state;
    session.signOut(true); // no session to lose: the app is not told twice
    expect(session.state).not.toBe(again);
    expect(expired).toHaveBeenCalledTimes(1);
  });

  it('tells the app only when asked to, and survives a callback that throws', () => {
    const expired = jest.fn(() => {
      throw new Error('app bug');
    });
    const session = createSession(false, now, () => Promise.resolve(), expired);
    session.signIn(token(1, 10, 20));
    session.signOut(false);
    expect(expired).not.toHaveBeenCalled();
    session.signIn(token(2, 10, 20));
    expect(() => session.signOut(true)).not.toThrow();
    expect(expired).toHaveBeenCalledTimes(1);
    expect(session.state.kind).toBe('signed-out');
  });

  it('owns the refresh timer: set at the refresh time while signed in, never under a second, cleared by sign-out and stopTimer()', async () => {
    const refresh = jest.fn(() => Promise.resolve());
    const session = createSession(true, now, refresh, undefined);
    session.signIn(token(0, 10_000, 20_000));
    await advance(9_999);
    expect(refresh).not.toHaveBeenCalled();
    await advance(1);
    expect(refresh).toHaveBeenCalledTimes(1);

    // Already due: at least a second later, and then again and again while nothing changes.
    await advance(500);
    expect(refresh).toHaveBeenCalledTimes(1);
    await advance(500);
    expect(refresh).toHaveBeenCalledTimes(2);

    session.signOut(false);
    await advance(60_000);
    expect(refresh).toHaveBeenCalledTimes(2);

    session.signIn(token(clock, clock + 5_000, clock + 10_000));
    session.stopTimer();
    await advance(60_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(session.state.kind).toBe('signed-in'); // stop() keeps the session
  });

  it('tries a failed timed refresh again within the token lifetime, and not after it has expired', async () => {
    const refresh = jest.fn(() => Promise.reject(new Error('503')));
    const session = createSession(true, now, refresh, undefined);
    session.signIn(token(0, 10_000, 30_000));
    await advance(10_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    await advance(5_000); // min(5 s, half of the 20 s left)
    expect(refresh).toHaveBeenCalledTimes(2);
    await advance(5_000);
    expect(refresh).toHaveBeenCalledTimes(3);
    await advance(5_000); // 10 s left: 5 s
    expect(refresh).toHaveBeenCalledTimes(4);
    await advance(2_500); // 5 s left: 2.5 s
    expect(refresh).toHaveBeenCalledTimes(5);
    await advance(60_000);
    const calls = refresh.mock.calls.length;
    expect(clock).toBeGreaterThan(30_000);
    await advance(60_000);
    expect(refresh).toHaveBeenCalledTimes(calls); // expired: the next call refreshes, not the timer
  });
});
