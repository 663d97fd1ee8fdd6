/*
 * createAuth over HTTP: the same tests on every store. test/http/create-auth.test.ts runs them
 * on the memory store (Express 5 and 4), test/redis/http/create-auth.test.ts on Redis and Redis
 * Cluster (Express 5 and 4). Each area has its own file here; this one registers them all.
 */
import express from 'express';
import request from 'supertest';
import { AuthError, createAuth } from '../../src/index.js';
import { expectError, login, makeApp, me, refresh, SECRET, type TestApp } from '../helpers/app.js';
import { describeObservability } from './observability.js';
import { describeResolveUser } from './resolve-user.js';
import { describeStartSession } from './start-session.js';
import { describeStepUp } from './step-up.js';
import { sessionIdOf, type MakeStore } from './shared.js';

export function describeCreateAuth(name: string, makeStore: MakeStore): void {
  describeStartSession(name, makeStore);
  describeResolveUser(name, makeStore);
  describeStepUp(name, makeStore);
  describeObservability(name, makeStore);
  describe(`createAuth on ${name}`, () => {
    let t: TestApp;
    beforeEach(async () => {
      t = await makeApp({ store: await makeStore() });
    });

    describe('the router', () => {
      it('has no /login without verifyCredentials: the path falls through to the app', async () => {
        const auth = createAuth({ accessToken: { secret: SECRET }, store: t.store });
        const app = express();
        app.use('/auth', auth.router);
        app.post('/auth/login', (_req, res) => res.status(418).json({ app: true }));
        expect((await request(app).post('/auth/login').send({ username: 'alice', password: 'x' })).status).toBe(418);
      });
    });

    describe('auth.requireAccessToken', () => {
      it("checks tokens with createAuth's keys; revocation: true refuses a revoked session's token", async () => {
        const session = await login(t);
        await request(t.app).post('/auth/logout-all').set('Authorization', `Bearer ${session.accessToken}`).expect(204);
        expect((await request(t.app).get('/stateless').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);
        expectError(await me(t, session.accessToken), 401, 'invalid_token');
      });

      it("with errors: 'next', passes the AuthError to the app's error handler instead of answering", async () => {
        const session = await login(t);
        const seen: unknown[] = [];
        t.app.get('/own-errors', t.auth.requireAccessToken({ errors: 'next', roles: ['auditor'] }), (_req, res) => res.json({ ok: true }));
        t.app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          seen.push(error);
          res.status(499).json({ mine: (error as AuthError).code });
        });
        const none = await request(t.app).get('/own-errors');
        expect({ status: none.status, body: none.body }).toEqual({ status: 499, body: { mine: 'missing_token' } });
        const forbidden = await request(t.app).get('/own-errors').set('Authorization', `Bearer ${session.accessToken}`);
        expect(forbidden.body).toEqual({ mine: 'insufficient_scope' });
        expect(seen.every((error) => error instanceof AuthError)).toBe(true);
      });
    });

    describe('auth.verifyAccessToken', () => {
      it('resolves to what req.auth would be, and checks revocation when asked', async () => {
        const session = await login(t);
        const info = await t.auth.verifyAccessToken(session.accessToken, { revocation: true });
        expect(info).toMatchObject({ userId: 'u-alice', sessionId: sessionIdOf(session.refreshToken), expiresAt: expect.any(Date) });
        expect(JSON.parse(JSON.stringify(info))).toEqual((await me(t, session.accessToken)).body);
        await t.auth.revokeSession(sessionIdOf(session.refreshToken));
        await expect(t.auth.verifyAccessToken(session.accessToken)).resolves.toMatchObject({ userId: 'u-alice' });
        await expect(t.auth.verifyAccessToken(session.accessToken, { revocation: true })).rejects.toMatchObject({ code: 'invalid_token' });
        await expect(t.auth.verifyAccessToken('not.a.token')).rejects.toMatchObject({ code: 'invalid_token' });
      });
    });

    describe('server-side session control', () => {
      it('revokeUser ends every session of the user: refresh and revocation checks fail, others live on', async () => {
        const laptop = await login(t);
        t.clock.now += 1000;
        const phone = await login(t);
        const bob = await login(t, 'bob');
        const revoked = await t.auth.revokeUser('u-alice');
        expect(revoked.sort()).toEqual([sessionIdOf(laptop.refreshToken), sessionIdOf(phone.refreshToken)].sort());
        expectError(await refresh(t, laptop.refreshToken), 401, 'invalid_grant');
        expectError(await me(t, phone.accessToken), 401, 'invalid_token');
        expect((await refresh(t, bob.refreshToken)).status).toBe(200);
        expect(await t.auth.revokeUser('u-alice')).toEqual([]);
      });

      it('revokeSession ends one session, whoever owns it, and says whether it was live', async () => {
        const laptop = await login(t);
        const phone = await login(t);
        expect(await t.auth.revokeSession(sessionIdOf(laptop.refreshToken))).toBe(true);
        expect(await t.auth.revokeSession(sessionIdOf(laptop.refreshToken))).toBe(false);
        expect(await t.auth.revokeSession('not-a-session-id')).toBe(false);
        expectError(await refresh(t, laptop.refreshToken), 401, 'invalid_grant');
        expect((await refresh(t, phone.refreshToken)).status).toBe(200);
      });

      it('listSessions shows what GET /sessions shows, without "current"', async () => {
        await login(t, 'alice', { 'User-Agent': 'Laptop/1.0' });
        t.clock.now += 1000;
        const phone = await login(t, 'alice', { 'User-Agent': 'Phone/2.0' });
        const listed = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${phone.accessToken}`);
        const withoutCurrent = listed.body.sessions.map(({ current: _current, ...session }: { current: boolean }) => session);
        expect(await t.auth.listSessions('u-alice')).toEqual(withoutCurrent);
        expect(withoutCurrent.map((session: { userAgent: string }) => session.userAgent)).toEqual(['Laptop/1.0', 'Phone/2.0']);
        expect(await t.auth.listSessions('u-nobody')).toEqual([]);
      });
    });
  });
}
