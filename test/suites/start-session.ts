/* auth.startSession: a session started from the app's own route is a session like any other. */
import express from 'express';
import request from 'supertest';
import { authErrorHandler, type AuthUser, type StartSessionOptions } from '../../src/index.js';
import { cookieHeader, expectError, me, refresh, refreshCookie } from '../helpers/app.js';
import { claimsOf } from '../helpers/jwt.js';
import { eventsOf, MINUTE, recordingApp, sessionIdOf, type MakeStore } from './shared.js';

const carol: AuthUser = { id: 'u-carol', roles: ['member'], claims: { tenant: 'acme' } };

export function describeStartSession(name: string, makeStore: MakeStore): void {
  describe(`auth.startSession on ${name}`, () => {
    /** An app route that signs carol in by its own means (a passkey, say), then starts her session. */
    async function appWithSignIn(options: StartSessionOptions = { amr: ['hwk'] }, overrides = {}) {
      const t = await recordingApp(makeStore, overrides);
      t.app.post('/sign-in/passkey', express.json(), async (req, res, next) => {
        try {
          res.json(await t.auth.startSession(req, res, carol, options));
        } catch (error) {
          next(error);
        }
      });
      return t;
    }

    it('answers the token response from any route and sets the cookie the router reads, at its mount path', async () => {
      const t = await appWithSignIn();
      const res = await request(t.app).post('/sign-in/passkey').set('User-Agent', 'Passkey/1.0').send({});
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
      expect(res.headers['cache-control']).toBe('no-store');
      const cookie = refreshCookie(res)!;
      expect(cookie.attributes).toEqual(expect.arrayContaining(['Path=/auth', 'HttpOnly', 'Secure', 'SameSite=Strict', 'Max-Age=1209600']));

      // A session like any other: listed, checked, rotated, revoked.
      expect((await me(t, res.body.accessToken)).body).toMatchObject({ userId: 'u-carol', roles: ['member'], amr: ['hwk'] });
      const sessions = await request(t.app).get('/auth/sessions').set('Authorization', `Bearer ${res.body.accessToken}`);
      expect(sessions.body.sessions).toEqual([
        expect.objectContaining({ id: sessionIdOf(cookie.value), userAgent: 'Passkey/1.0', current: true }),
      ]);
      const rotated = await refresh(t, cookie.value);
      expect(rotated.status).toBe(200);
      expect(claimsOf(rotated.body.accessToken)).toMatchObject({ sub: 'u-carol', roles: ['member'], tenant: 'acme', amr: ['hwk'] });
      const logout = await request(t.app)
        .post('/auth/logout')
        .set('Cookie', cookieHeader(refreshCookie(rotated)!.value));
      expect(logout.status).toBe(204);
      expectError(await refresh(t, refreshCookie(rotated)!.value), 401, 'invalid_grant');
    });

    it('puts auth_time and amr in every access token of the session, refreshes included', async () => {
      const t = await appWithSignIn();
      const signedInAt = t.clock.now;
      const res = await request(t.app).post('/sign-in/passkey').send({});
      expect(claimsOf(res.body.accessToken)).toMatchObject({ auth_time: signedInAt / 1000, amr: ['hwk'] });
      t.clock.now += 60 * MINUTE;
      const rotated = await refresh(t, refreshCookie(res)!.value);
      expect(claimsOf(rotated.body.accessToken)).toMatchObject({ iat: t.clock.now / 1000, auth_time: signedInAt / 1000, amr: ['hwk'] });
      expect((await me(t, rotated.body.accessToken)).body.authTime).toBe(new Date(signedInAt).toISOString());
    });

    it("takes an earlier authTime, such as an identity provider's auth_time after single sign-on", async () => {
      const t = await recordingApp(makeStore);
      const idpAuthTime = new Date(t.clock.now - 30 * MINUTE);
      t.app.get('/oauth/callback', async (req, res, next) => {
        try {
          res.json(await t.auth.startSession(req, res, carol, { amr: ['fed'], authTime: idpAuthTime }));
        } catch (error) {
          next(error);
        }
      });
      const res = await request(t.app).get('/oauth/callback');
      expect(claimsOf(res.body.accessToken)).toMatchObject({ auth_time: idpAuthTime.getTime() / 1000, amr: ['fed'] });
    });

    it("answers the refresh token in the body with transport: 'body', and sets no cookie", async () => {
      const t = await appWithSignIn({ amr: ['otp'] }, { refreshToken: { transport: 'body' } });
      const res = await request(t.app).post('/sign-in/passkey').send({});
      expect(res.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900, refreshToken: expect.any(String) });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect((await request(t.app).post('/auth/refresh').send({ refreshToken: res.body.refreshToken })).status).toBe(200);
    });

    it('tells onLogin how the user signed in, and onRevoke which sessions the per-user cap ended', async () => {
      const t = await appWithSignIn({ amr: ['hwk'] }, { refreshToken: { maxSessionsPerUser: 1 } });
      const first = await request(t.app).post('/sign-in/passkey').send({});
      t.clock.now += 1000;
      const second = await request(t.app).post('/sign-in/passkey').send({});
      const [firstId, secondId] = [first, second].map((res) => sessionIdOf(refreshCookie(res)!.value));
      expect(eventsOf(t.hooked, 'onLogin')).toEqual([
        { user: carol, sessionId: firstId, amr: ['hwk'], evictedSessionIds: [] },
        { user: carol, sessionId: secondId, amr: ['hwk'], evictedSessionIds: [firstId] },
      ]);
      expect(eventsOf(t.hooked, 'onRevoke')).toEqual([{ userId: 'u-carol', sessionIds: [firstId], reason: 'session_limit' }]);
    });

    describe('login CSRF: a form on another site posting to the sign-in route', () => {
      const attacker = { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' };

      /** The passkey route, with errors answered as JSON as the README says. */
      async function guardedApp(options: StartSessionOptions = { amr: ['hwk'] }, overrides = {}) {
        const t = await appWithSignIn(options, overrides);
        t.app.use(authErrorHandler());
        return t;
      }

      it('is refused with 403 csrf_rejected before any session starts, with cookie transport', async () => {
        const t = await guardedApp();
        const res = await request(t.app).post('/sign-in/passkey').set(attacker).send({});
        expectError(res, 403, 'csrf_rejected');
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(await t.auth.listSessions('u-carol')).toEqual([]);
        expect(eventsOf(t.hooked, 'onLogin')).toEqual([]);
      });

      it('passes from the same origin and from a trusted origin', async () => {
        const t = await guardedApp({ amr: ['hwk'] }, { trustedOrigins: ['https://app.example'] });
        const sameOrigin = await request(t.app).post('/sign-in/passkey').set('Sec-Fetch-Site', 'same-origin').send({});
        expect(sameOrigin.status).toBe(200);
        const trusted = await request(t.app)
          .post('/sign-in/passkey')
          .set({ Origin: 'https://app.example', 'Sec-Fetch-Site': 'cross-site' })
          .send({});
        expect(trusted.status).toBe(200);
        expect(await t.auth.listSessions('u-carol')).toHaveLength(2);
      });

      it('passes a GET (an OAuth callback, a magic link) and a POST the route vouches for with allowCrossSite', async () => {
        const t = await guardedApp({ amr: ['fed'], allowCrossSite: true });
        t.app.get('/oauth/callback', async (req, res, next) => {
          try {
            res.json(await t.auth.startSession(req, res, carol, { amr: ['fed'] }));
          } catch (error) {
            next(error);
          }
        });
        expect((await request(t.app).post('/sign-in/passkey').set(attacker).send({})).status).toBe(200);
        expect((await request(t.app).get('/oauth/callback').set(attacker)).status).toBe(200);
        expect(await t.auth.listSessions('u-carol')).toHaveLength(2);
      });

      it("passes a cross-site POST from an origin allowCrossSite lists (an identity provider's form_post), and no other", async () => {
        const t = await guardedApp(
          { amr: ['fed'], allowCrossSite: ['https://accounts.example/any/path'] },
          { trustedOrigins: ['https://app.example'] },
        );
        const post = (headers: Record<string, string>) => request(t.app).post('/sign-in/passkey').set(headers).send({});
        expect((await post({ Origin: 'https://accounts.example', 'Sec-Fetch-Site': 'cross-site' })).status).toBe(200);
        expect((await post({ Origin: 'https://app.example', 'Sec-Fetch-Site': 'cross-site' })).status).toBe(200);
        expectError(await post(attacker), 403, 'csrf_rejected');
        expectError(await post({ Origin: 'https://accounts.example.evil.example', 'Sec-Fetch-Site': 'cross-site' }), 403, 'csrf_rejected');
        expectError(await post({ Origin: 'null', 'Sec-Fetch-Site': 'cross-site' }), 403, 'csrf_rejected');
        expectError(await post({ 'Sec-Fetch-Site': 'cross-site' }), 403, 'csrf_rejected');
        expect(await t.auth.listSessions('u-carol')).toHaveLength(2);
      });

      it('is refused when method-override turned the POST into a GET: the method the browser sent counts', async () => {
        const t = await recordingApp(makeStore);
        // What the method-override package does with `?_method=GET`.
        t.app.use((req, _res, next) => {
          const override = req.query._method;
          if (typeof override === 'string') Object.assign(req, { originalMethod: req.method, method: override.toUpperCase() });
          next();
        });
        t.app.all('/sign-in/any', async (req, res, next) => {
          try {
            res.json(await t.auth.startSession(req, res, carol, { amr: ['hwk'] }));
          } catch (error) {
            next(error);
          }
        });
        t.app.use(authErrorHandler());
        const res = await request(t.app).post('/sign-in/any?_method=GET').set(attacker).send({});
        expectError(res, 403, 'csrf_rejected');
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(await t.auth.listSessions('u-carol')).toEqual([]);
      });

      it("is not checked with transport: 'body', which sets no cookie a forged request could plant", async () => {
        const t = await guardedApp({ amr: ['hwk'] }, { refreshToken: { transport: 'body' } });
        const res = await request(t.app).post('/sign-in/passkey').set(attacker).send({});
        expect(res.status).toBe(200);
        expect(res.headers['set-cookie']).toBeUndefined();
      });
    });

    it.each<[string, unknown, StartSessionOptions]>([
      ['a user without an id', { roles: ['member'] }, {}],
      ['an amr that is not a list', carol, { amr: 'hwk' as never }],
      ['an amr value with a space', carol, { amr: ['hard key'] }],
      ['an authTime in the future', carol, { authTime: Date.UTC(2030, 0, 1) }],
      ['an allowCrossSite that is neither a boolean nor a list', carol, { allowCrossSite: 'yes' as never }],
      ['an allowCrossSite list that is empty', carol, { allowCrossSite: [] }],
      [
        'an allowCrossSite list with something that is not an origin',
        carol,
        { allowCrossSite: ['https://accounts.example', 'accounts.example'] },
      ],
      ['an allowCrossSite list with a wildcard, which is not supported', carol, { allowCrossSite: ['https://*.accounts.example'] }],
    ])('rejects %s with a TypeError, and starts nothing', async (_case, user, options) => {
      const t = await recordingApp(makeStore);
      const seen: unknown[] = [];
      t.app.post('/sign-in/broken', async (req, res) => {
        await t.auth.startSession(req, res, user as AuthUser, options).catch((error: unknown) => seen.push(error));
        res.status(400).json({ error: 'invalid_request' });
      });
      const res = await request(t.app).post('/sign-in/broken');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(seen).toEqual([expect.any(TypeError)]);
      expect(await t.auth.listSessions('u-carol')).toEqual([]);
      expect(eventsOf(t.hooked, 'onLogin')).toEqual([]);
    });
  });
}
