/*
 * What an operator sees: onRevoke for every revocation with its reason, onError for every refusal
 * with a reason that never reaches the client.
 */
import request from 'supertest';
import type { AuthError } from '../../src/index.js';
import { cookieHeader, login, refresh, refreshCookie } from '../helpers/app.js';
import { eventsOf, recordingApp, sessionIdOf, type MakeStore } from './shared.js';

/** The reason of every onError event, with the code the client was answered. */
function refusals(hooked: Parameters<typeof eventsOf>[0]): string[] {
  return eventsOf(hooked, 'onError').map(({ error }) => `${(error as AuthError).code}:${(error as AuthError).reason}`);
}

export function describeObservability(name: string, makeStore: MakeStore): void {
  describe(`hooks and reasons on ${name}`, () => {
    describe('onRevoke', () => {
      it('fires for revocations by the user, with the reason: logout, session_deleted, logout_all', async () => {
        const t = await recordingApp(makeStore);
        const laptop = await login(t);
        const phone = await login(t);
        const tablet = await login(t);
        await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(laptop.refreshToken)).expect(204);
        await request(t.app)
          .delete(`/auth/sessions/${sessionIdOf(phone.refreshToken)}`)
          .set('Authorization', `Bearer ${tablet.accessToken}`)
          .expect(204);
        await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${tablet.accessToken}`).expect(204);
        // Nothing revoked, no event: a logout with a spent token.
        await request(t.app).post('/auth/logout').set('Cookie', cookieHeader(laptop.refreshToken)).expect(204);
        expect(eventsOf(t.hooked, 'onRevoke')).toEqual([
          { userId: 'u-alice', sessionIds: [sessionIdOf(laptop.refreshToken)], reason: 'logout' },
          { userId: 'u-alice', sessionIds: [sessionIdOf(phone.refreshToken)], reason: 'session_deleted' },
          { userId: 'u-alice', sessionIds: [sessionIdOf(tablet.refreshToken)], reason: 'logout_all' },
        ]);
      });

      it('fires for reuse, next to onReuseDetected', async () => {
        const t = await recordingApp(makeStore, { refreshToken: { reuseGraceSeconds: 0 } });
        const session = await login(t);
        await refresh(t, session.refreshToken).expect(200);
        await refresh(t, session.refreshToken).expect(401);
        const sessionId = sessionIdOf(session.refreshToken);
        expect(eventsOf(t.hooked, 'onReuseDetected')).toEqual([{ userId: 'u-alice', sessionId }]);
        expect(eventsOf(t.hooked, 'onRevoke')).toEqual([{ userId: 'u-alice', sessionIds: [sessionId], reason: 'reused' }]);
      });

      it("fires for server-side revocations with the app's reason, 'admin' when it gives none", async () => {
        const t = await recordingApp(makeStore);
        const laptop = await login(t);
        const phone = await login(t);
        expect(await t.auth.revokeSession(sessionIdOf(laptop.refreshToken))).toBe(true);
        expect(await t.auth.revokeUser('u-alice', { reason: 'password_changed' })).toEqual([sessionIdOf(phone.refreshToken)]);
        expect(await t.auth.revokeUser('u-alice', { reason: 'password_changed' })).toEqual([]);
        expect(eventsOf(t.hooked, 'onRevoke')).toEqual([
          { userId: 'u-alice', sessionIds: [sessionIdOf(laptop.refreshToken)], reason: 'admin' },
          { userId: 'u-alice', sessionIds: [sessionIdOf(phone.refreshToken)], reason: 'password_changed' },
        ]);
      });
    });

    describe('onError and AuthError.reason', () => {
      it('tells why each refresh was refused, while every client gets the same answer', async () => {
        const t = await recordingApp(makeStore, { refreshToken: { reuseGraceSeconds: 0 } });
        const session = await login(t);
        const [family, , secret] = session.refreshToken.split('.');
        const answers = [
          await request(t.app).post('/auth/refresh'),
          await refresh(t, 'not-a-refresh-token'),
          await refresh(t, `${family}.${'A'.repeat(22)}.${secret}`),
          await refresh(t, `${'B'.repeat(30)}.${'A'.repeat(22)}.${secret}`),
        ];
        const rotated = await refresh(t, session.refreshToken);
        answers.push(await refresh(t, session.refreshToken), await refresh(t, refreshCookie(rotated)!.value));
        for (const res of answers) {
          expect({ status: res.status, body: res.body }).toEqual({
            status: 401,
            body: { error: 'invalid_grant', message: answers[0]!.body.message },
          });
        }
        expect(refusals(t.hooked)).toEqual([
          'invalid_grant:missing',
          'invalid_grant:malformed',
          'invalid_grant:wrong_proof',
          'invalid_grant:unknown_session',
          'invalid_grant:reused',
          'invalid_grant:unknown_session',
        ]);
      });

      it('tells why requireAccessToken refused a token, and the body carries the code only', async () => {
        const t = await recordingApp(makeStore);
        const session = await login(t, 'bob');
        const [header, payload] = session.accessToken.split('.');
        const get = (path: string, token?: string) => {
          const req = request(t.app).get(path);
          return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
        };
        const answers = [
          await get('/me'),
          await get('/me', 'Bearer-with-bad-characters!'),
          await get('/me', `${header}.${payload}.${'A'.repeat(43)}`),
          await get('/admin', session.accessToken),
          await get('/writer', session.accessToken),
        ];
        await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${session.accessToken}`);
        answers.push(await get('/me', session.accessToken));
        t.clock.now += 3600_000;
        answers.push(await get('/stateless', session.accessToken));
        expect(refusals(t.hooked)).toEqual([
          'missing_token:missing',
          'invalid_token:malformed',
          'invalid_token:bad_signature',
          'insufficient_scope:missing_role',
          'insufficient_scope:missing_scope',
          'invalid_token:revoked',
          'invalid_token:expired',
        ]);
        for (const res of answers) {
          expect(Object.keys(res.body).sort()).toEqual(['error', 'message']);
          expect(JSON.stringify(res.body)).not.toMatch(/missing_role|missing_scope|bad_signature/);
        }
      });

      it('tells why a cross-site request was refused', async () => {
        const t = await recordingApp(makeStore);
        await request(t.app)
          .post('/auth/login')
          .set('Origin', 'https://evil.example')
          .send({ username: 'alice', password: 'x' })
          .expect(403);
        await request(t.app).post('/auth/login').set('Sec-Fetch-Site', 'cross-site').send({ username: 'alice', password: 'x' }).expect(403);
        expect(refusals(t.hooked)).toEqual(['csrf_rejected:untrusted_origin', 'csrf_rejected:cross_site']);
      });

      it('does not make the answer wait for the hook, nor change it when the hook throws', async () => {
        const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
        const t = await recordingApp(makeStore, {
          hooks: {
            onError: () => {
              throw new Error('the log shipper is down');
            },
          },
        });
        const res = await request(t.app).get('/me');
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'missing_token' });
        expect(warn).toHaveBeenCalledWith(expect.stringContaining('the log shipper is down'), expect.anything());
        warn.mockRestore();
      });
    });
  });
}
