/* requireAccessToken({ maxAuthAge }): a sensitive route wants a recent sign-in (RFC 9470). */
import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { InsufficientUserAuthenticationError } from '../../src/index.js';
import { expectError, login, refresh, refreshCookie, SECRET } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { MINUTE, recordingApp, type MakeStore } from './shared.js';

const CHALLENGE = 'Bearer error="insufficient_user_authentication", max_age=300';

export function describeStepUp(name: string, makeStore: MakeStore): void {
  describe(`requireAccessToken({ maxAuthAge }) on ${name}`, () => {
    async function appWithSensitiveRoute() {
      const t = await recordingApp(makeStore);
      t.app.post('/account/delete', t.auth.requireAccessToken({ maxAuthAge: '5m', revocation: true }), (_req, res) => {
        res.status(204).end();
      });
      const call = (token: string) => request(t.app).post('/account/delete').set('Authorization', `Bearer ${token}`);
      return { t, call };
    }

    it('passes a sign-in within the limit, then answers 401 insufficient_user_authentication with the RFC 9470 challenge', async () => {
      const { t, call } = await appWithSensitiveRoute();
      const session = await login(t);
      expect((await call(session.accessToken)).status).toBe(204);
      t.clock.now += 5 * MINUTE + 1000;
      const late = await call(session.accessToken);
      expectError(late, 401, 'insufficient_user_authentication');
      expect(late.headers['www-authenticate']).toBe(CHALLENGE);
      // The rest of the app does not care how old the sign-in is.
      expect((await request(t.app).get('/me').set('Authorization', `Bearer ${session.accessToken}`)).status).toBe(200);
    });

    it('is not satisfied by a refresh, which keeps the sign-in time; a new sign-in is', async () => {
      const { t, call } = await appWithSensitiveRoute();
      const session = await login(t);
      t.clock.now += 10 * MINUTE;
      const rotated = await refresh(t, session.refreshToken);
      expect(rotated.status).toBe(200);
      expectError(await call(rotated.body.accessToken), 401, 'insufficient_user_authentication');
      const again = await login(t);
      expect((await call(again.accessToken)).status).toBe(204);
      expect((await refresh(t, refreshCookie(rotated)!.value)).status).toBe(200); // the older session lives on
    });

    it('refuses a token that does not say when its sign-in was', async () => {
      const { t, call } = await appWithSensitiveRoute();
      const session = await login(t);
      const { auth_time: _authTime, ...claims } = claimsOf(session.accessToken);
      const withoutAuthTime = jwt.sign(claims, SECRET, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt' } });
      expect((await request(t.app).get('/stateless').set('Authorization', `Bearer ${withoutAuthTime}`)).status).toBe(200);
      const res = await call(withoutAuthTime);
      expectError(res, 401, 'insufficient_user_authentication');
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    });

    it("passes the error, with its maxAge, to next() with errors: 'next'", async () => {
      const t = await recordingApp(makeStore);
      const seen: unknown[] = [];
      t.app.get('/step-up', t.auth.requireAccessToken({ maxAuthAge: 60, errors: 'next' }), (_req, res) => res.status(204).end());
      t.app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        seen.push(error);
        res.status(401).json({ stepUp: true });
      });
      const session = await login(t);
      t.clock.now += 2 * MINUTE;
      expect((await request(t.app).get('/step-up').set('Authorization', `Bearer ${session.accessToken}`)).body).toEqual({ stepUp: true });
      expect(seen).toEqual([expect.any(InsufficientUserAuthenticationError)]);
      expect(seen[0]).toMatchObject({ code: 'insufficient_user_authentication', status: 401, maxAge: 60, reason: 'sign_in_too_old' });
    });
  });
}
