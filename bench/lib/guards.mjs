/*
 * The stateless HS256 guards the benchmarks compare: ours, each peer as its documentation shows
 * it, and the raw HMAC floor. server.mjs mounts one behind HTTP (the middleware table);
 * guard-timer.mjs calls them in process, without HTTP (the guards table). Both take them from
 * here, so the two tables measure the same code.
 *
 * Each entry builds `{ handlers, userId, onError? }`: the middleware a `GET /me` route runs
 * before its handler, where that handler then finds the user id, and the app's error handler the
 * library's documentation adds (a refused token ends in `res` or in `next(error)`, as each
 * library does it).
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { expressjwt } from 'express-jwt';
import { createVerifier } from 'fast-jwt';
import { jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';

const unauthorized = (res) => res.status(401).json({ error: 'invalid_token' });

function bearer(req) {
  const header = req.headers.authorization;
  return header !== undefined && header.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/** The token with its signature's last two characters changed: every guard must refuse it. */
export function tamperedToken(token) {
  return `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
}

/** `{ variant: () => ({ handlers, userId, onError? }) }` for the library `lib` and the HS256 `secret`. */
export function statelessGuards(lib, { secret, expiresIn }) {
  const secretKey = createSecretKey(Buffer.from(secret, 'utf8'));
  const bySub = (req) => req.auth.sub;
  const expressJwt = (key) => ({
    handlers: [expressjwt({ secret: key, algorithms: ['HS256'] })],
    userId: bySub,
    onError: (_error, _req, res, _next) => unauthorized(res),
  });
  // A Passport of its own per guard, so that two of them can live in one process (the timer).
  const passportJwt = (key) => {
    const instance = new passport.Passport();
    instance.use(
      'jwt',
      new JwtStrategy(
        { jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: key, algorithms: ['HS256'] },
        (payload, done) => done(null, payload),
      ),
    );
    return { handlers: [instance.initialize(), instance.authenticate('jwt', { session: false })], userId: (req) => req.user.sub };
  };
  const fastJwt = (options) => {
    const verify = createVerifier({ key: secret, algorithms: ['HS256'], ...options });
    return {
      handlers: [
        (req, res, next) => {
          try {
            req.auth = verify(bearer(req) ?? '');
          } catch {
            return unauthorized(res);
          }
          next();
        },
      ],
      userId: bySub,
    };
  };
  return {
    'ours-hs256': () => ({ handlers: [lib.requireAccessToken({ secret, expiresIn })], userId: (req) => req.auth.userId }),
    'express-jwt-string': () => expressJwt(secret),
    'express-jwt-keyobject': () => expressJwt(secretKey),
    'passport-jwt-string': () => passportJwt(secret),
    'passport-jwt-keyobject': () => passportJwt(secretKey),
    'fast-jwt-cache': () => fastJwt({ cache: true }),
    'fast-jwt': () => fastJwt({}),
    jose: () => ({
      handlers: [
        (req, res, next) => {
          jwtVerify(bearer(req) ?? '', secretKey, { algorithms: ['HS256'], typ: 'at+jwt' }).then(
            ({ payload }) => {
              req.auth = payload;
              next();
            },
            () => unauthorized(res),
          );
        },
      ],
      userId: bySub,
    }),
    'jsonwebtoken-keyobject': () => ({
      handlers: [
        (req, res, next) => {
          try {
            req.auth = jwt.verify(bearer(req) ?? '', secretKey, { algorithms: ['HS256'] });
          } catch {
            return unauthorized(res);
          }
          next();
        },
      ],
      userId: bySub,
    }),
    /** The floor: one HMAC-SHA256 over the signing input, a constant-time compare, JSON.parse, exp. */
    'hmac-floor': () => ({
      handlers: [
        (req, res, next) => {
          const token = bearer(req);
          const first = token?.indexOf('.') ?? -1;
          const last = token?.lastIndexOf('.') ?? -1;
          if (first < 1 || last <= first) return unauthorized(res);
          const expected = createHmac('sha256', secretKey).update(token.slice(0, last)).digest();
          const signature = Buffer.from(token.slice(last + 1), 'base64url');
          if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return unauthorized(res);
          const payload = JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url').toString('utf8'));
          if (!(payload.exp > Date.now() / 1000)) return unauthorized(res);
          req.auth = payload;
          next();
        },
      ],
      userId: bySub,
    }),
  };
}
