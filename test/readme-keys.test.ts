/*
 * The code of the README's "Keys and other services", run as written: the signer's configuration
 * (its keys from the environment, as the README reads them) and the other service's verifier,
 * whose `jwksUri` is pointed at the signer, listening on a loopback port.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import * as library from '../src/index.js';
import { DEFAULTS } from '../src/config/defaults.js';
import { ecKeyPair } from './helpers/keys.js';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Keys and other services\n'), readme.indexOf('\n## Errors\n'));
const [signerCode, verifierCode] = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);

// eslint-disable-next-line @typescript-eslint/no-empty-function
const AsyncFunction = async function () {}.constructor as new (...args: string[]) => (...values: unknown[]) => Promise<Record<string, unknown>>;
/** Runs a README block with `require('express-refresh-tokens')` resolved to this source, and returns the names it lists. */
function run(code: string, names: string[], scope: Record<string, unknown>) {
  const requireLibrary = (name: string) => {
    if (name !== 'express-refresh-tokens') throw new Error(`the README block requires ${name}`);
    return library;
  };
  return new AsyncFunction('require', ...Object.keys(scope), `${code}\nreturn { ${names.join(', ')} };`)(requireLibrary, ...Object.values(scope));
}

const current = ecKeyPair();
const previous = ecKeyPair();
let server: Server;
let base: string;
const signer = express();
let auth: library.Auth;

beforeAll(async () => {
  const env = {
    KEY_2026_12: current.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    PUB_2026_06: previous.publicKey.export({ type: 'spki', format: 'pem' }),
  };
  const verifyCredentials = (username: string) => ({ id: `u-${username}`, roles: ['analyst'] });
  ({ auth } = (await run(signerCode!, ['auth'], { app: signer, process: { env }, verifyCredentials })) as { auth: library.Auth });
  server = signer.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

it('has the two blocks the test runs', () => {
  expect(signerCode).toContain("kid: '2026-12'");
  expect(verifierCode).toContain('createAccessTokenVerifier');
});

it("runs the signer's block: tokens carry the signing key's kid, both JWKS routes publish both keys", async () => {
  const login = await request(signer).post('/auth/login').send({ username: 'alice', password: 'x' }).expect(200);
  const header = JSON.parse(Buffer.from(login.body.accessToken.split('.')[0], 'base64url').toString());
  expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: '2026-12' });
  for (const path of ['/auth/jwks.json', '/.well-known/jwks.json']) {
    const res = await request(signer).get(path).expect(200);
    expect(res.body.keys.map(({ kid, alg, use }: Record<string, string>) => `${kid} ${alg} ${use}`)).toEqual(['2026-12 ES256 sig', '2026-06 ES256 sig']);
  }
  expect(auth.jwks().keys).toHaveLength(2);
});

it("runs the other service's block against the signer's JWKS", async () => {
  const service = express();
  const code = verifierCode!.replace("'https://auth.example.com/.well-known/jwks.json'", JSON.stringify(`${base}/.well-known/jwks.json`));
  expect(code).not.toBe(verifierCode);
  const { userOf } = (await run(code, ['verifier', 'userOf'], { app: service })) as { userOf: (token: string) => Promise<string> };
  const { accessToken } = (await request(signer).post('/auth/login').send({ username: 'alice', password: 'x' }).expect(200)).body;
  expect((await request(service).get('/reports').set('Authorization', `Bearer ${accessToken}`).expect(200)).body).toEqual({ userId: 'u-alice' });
  expect(await userOf(accessToken)).toBe('u-alice');
  const res = await request(service).get('/reports').set('Authorization', `Bearer ${accessToken}x`);
  expect(res.status).toBe(401);
});

it("states the verifier's defaults and the JWKS max-age as the code has them", () => {
  const rows = Object.fromEntries([...section.matchAll(/^\| `(jwks\w+)` \| `([^`]+)` \|/gm)].map(([, option, value]) => [option, JSON.parse(value!.replace(/'/g, '"'))]));
  expect(rows).toEqual(DEFAULTS.accessTokenVerifier);
  expect(section).toContain(`Cache-Control: public, max-age=${DEFAULTS.jwksMaxAgeSeconds}`);
});
