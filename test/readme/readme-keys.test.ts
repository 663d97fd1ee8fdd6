/*
 * The code of the README's "Keys and other services", run as written: the signer's configuration
 * (its keys from the environment, as the README reads them) and the other service's verifier,
 * whose `jwksUri` is pointed at the signer, listening on a loopback port.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import express from 'express';
import request from 'supertest';
import * as library from '../../src/index.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { headerOf } from '../helpers/jwt.js';
import { ecKeyPair } from '../helpers/keys.js';
import { README_PATH, readmeBlock, runBlock } from '../helpers/readme.js';

const readme = readFileSync(README_PATH, 'utf8');
const section = readme.slice(readme.indexOf('\n## Keys and other services\n'), readme.indexOf('\n## Errors\n'));
const signerBlock = readmeBlock('## Keys and other services');
const verifierBlock = readmeBlock('### Verifying in another service');
const [signerCode, verifierCode] = [signerBlock.code, verifierBlock.code];
const modules = { 'express-refresh-tokens': library };

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
  ({ auth } = (await runBlock(signerBlock, { app: signer, process: { env }, verifyCredentials }, modules, ['auth'])) as {
    auth: library.Auth;
  });
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
  const header = headerOf(login.body.accessToken);
  expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: '2026-12' });
  for (const path of ['/auth/jwks.json', '/.well-known/jwks.json']) {
    const res = await request(signer).get(path).expect(200);
    expect(res.body.keys.map(({ kid, alg, use }: Record<string, string>) => `${kid} ${alg} ${use}`)).toEqual([
      '2026-12 ES256 sig',
      '2026-06 ES256 sig',
    ]);
  }
  expect(auth.jwks().keys).toHaveLength(2);
});

it("runs the other service's block against the signer's JWKS", async () => {
  const service = express();
  const code = verifierCode!.replace("'https://auth.example.com/.well-known/jwks.json'", JSON.stringify(`${base}/.well-known/jwks.json`));
  expect(code).not.toBe(verifierCode);
  const { userOf } = (await runBlock({ ...verifierBlock, code }, { app: service }, modules, ['verifier', 'userOf'])) as {
    userOf: (token: string) => Promise<string>;
  };
  const { accessToken } = (await request(signer).post('/auth/login').send({ username: 'alice', password: 'x' }).expect(200)).body;
  expect((await request(service).get('/reports').set('Authorization', `Bearer ${accessToken}`).expect(200)).body).toEqual({
    userId: 'u-alice',
  });
  expect(await userOf(accessToken)).toBe('u-alice');
  const res = await request(service).get('/reports').set('Authorization', `Bearer ${accessToken}x`);
  expect(res.status).toBe(401);
});

it("states the verifier's defaults and the JWKS max-age as the code has them", () => {
  const rows = Object.fromEntries(
    [...section.matchAll(/^\| `(jwks\w+)` \| `([^`]+)` \|/gm)].map(([, option, value]) => [option, JSON.parse(value!.replace(/'/g, '"'))]),
  );
  expect(rows).toEqual(DEFAULTS.accessTokenVerifier);
  expect(section).toContain(`Cache-Control: public, max-age=${DEFAULTS.jwksMaxAgeSeconds}`);
});
