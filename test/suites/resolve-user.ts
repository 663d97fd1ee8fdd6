/* refreshToken.resolveUser: the user's current roles at every refresh; null ends the session. */
import request from 'supertest';
import type { AuthUser, RefreshingSession, ResolveUser } from '../../src/index.js';
import { expectError, login, me, refresh, refreshCookie } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { eventsOf, recordingApp, sessionIdOf, type MakeStore } from './shared.js';

export function describeResolveUser(name: string, makeStore: MakeStore): void {
  describe(`refreshToken.resolveUser on ${name}`, () => {
    /** The app's user table as resolveUser reads it, and every call it got. */
    async function appResolving(resolve: (userId: string, session: RefreshingSession) => ReturnType<ResolveUser>) {
      const calls: [string, RefreshingSession][] = [];
      const resolveUser: ResolveUser = (userId, session) => {
        calls.push([userId, session]);
        return resolve(userId, session);
      };
      const t = await recordingApp(makeStore, { refreshToken: { resolveUser } });
      return { ...t, calls };
    }

    it('is read at every refresh: a role change shows in the next access token', async () => {
      const directory = new Map<string, AuthUser>([['u-alice', { id: 'u-alice', roles: ['admin'], scopes: ['read'] }]]);
      const t = await appResolving((userId) => directory.get(userId) ?? null);
      const session = await login(t);
      directory.set('u-alice', { id: 'u-alice', roles: ['viewer'], claims: { plan: 'pro' } });
      const rotated = await refresh(t, session.refreshToken);
      expect(rotated.status).toBe(200);
      const claims = claimsOf(rotated.body.accessToken);
      expect(claims).toMatchObject({ sub: 'u-alice', roles: ['viewer'], plan: 'pro', amr: ['pwd'] });
      expect(claims.scope).toBeUndefined();
      expectError(await request(t.app).get('/admin').set('Authorization', `Bearer ${rotated.body.accessToken}`), 403, 'insufficient_scope');
    });

    it('is told the session: its id, the user as the sign-in gave it, when and how the user signed in', async () => {
      const t = await appResolving((userId) => ({ id: userId }));
      const signedInAt = t.clock.now;
      const session = await login(t);
      t.clock.now += 3600_000;
      await refresh(t, session.refreshToken);
      expect(t.calls).toEqual([
        [
          'u-alice',
          {
            id: sessionIdOf(session.refreshToken),
            userId: 'u-alice',
            user: { id: 'u-alice', roles: ['admin'], scopes: ['read', 'write'] },
            createdAt: new Date(signedInAt),
            authTime: new Date(signedInAt),
            amr: ['pwd'],
          },
        ],
      ]);
    });

    it('ends the session on null: 401 invalid_grant, the session revoked, and the hooks say why', async () => {
      const t = await appResolving(() => null);
      const session = await login(t);
      const res = await refresh(t, session.refreshToken);
      expectError(res, 401, 'invalid_grant');
      expect(refreshCookie(res)!.value).toBe('');
      expectError(await me(t, session.accessToken), 401, 'invalid_token');
      expect(await t.auth.listSessions('u-alice')).toEqual([]);
      const sessionId = sessionIdOf(session.refreshToken);
      expect(eventsOf(t.hooked, 'onRevoke')).toEqual([{ userId: 'u-alice', sessionIds: [sessionId], reason: 'user_removed' }]);
      expect(eventsOf(t.hooked, 'onError').map(({ error }) => (error as { reason: string }).reason)).toContain('user_removed');
      expect(eventsOf(t.hooked, 'onReuseDetected')).toEqual([]);
    });

    it('answers 500 internal_error when it throws, and burns nothing: the same token refreshes once it works', async () => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      let down = true;
      const t = await appResolving((userId) => {
        if (down) throw new Error('the user database is down');
        return { id: userId };
      });
      const session = await login(t);
      const failed = await refresh(t, session.refreshToken);
      expectError(failed, 500, 'internal_error');
      expect(JSON.stringify(failed.body)).not.toContain('database');
      expect(failed.headers['set-cookie']).toBeUndefined();
      down = false;
      expect((await refresh(t, session.refreshToken)).status).toBe(200);
      expect(eventsOf(t.hooked, 'onReuseDetected')).toEqual([]);
      warn.mockRestore();
    });

    it.each<[string, unknown]>([
      ['another user', { id: 'u-bob' }],
      ['a user without an id', { roles: ['admin'] }],
    ])('answers 500 internal_error when it answers %s, and rotates nothing', async (_case, answer) => {
      const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      let answerWith: unknown = answer;
      const t = await appResolving(() => answerWith as AuthUser);
      const session = await login(t);
      expectError(await refresh(t, session.refreshToken), 500, 'internal_error');
      answerWith = { id: 'u-alice' };
      expect((await refresh(t, session.refreshToken)).status).toBe(200);
      warn.mockRestore();
    });

    it('is not called for a token that is not live, nor for one with a wrong proof', async () => {
      const t = await appResolving((userId) => ({ id: userId }));
      const session = await login(t);
      const [family, , secret] = session.refreshToken.split('.');
      expectError(await refresh(t, `${family}.${'A'.repeat(22)}.${secret}`), 401, 'invalid_grant');
      await t.auth.revokeSession(sessionIdOf(session.refreshToken));
      expectError(await refresh(t, session.refreshToken), 401, 'invalid_grant');
      expect(t.calls).toEqual([]);
      const reasons = eventsOf(t.hooked, 'onError').map(({ error }) => (error as { reason: string }).reason);
      expect(reasons).toEqual(['wrong_proof', 'unknown_session']);
    });
  });
}
