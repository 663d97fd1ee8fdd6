/*
 * The guards table: each stateless guard of guards.mjs timed in process, without HTTP, so that
 * what is compared is the guards alone. Behind HTTP a guard's 1 to 10 µs sit in some 200 µs of
 * Express and socket work per request, and a 2-core machine's drift between rounds is larger
 * than the differences between guards.
 *
 * `node guard-timer.mjs`, configured by BENCH_CONFIG (`secret`, and `compare`: BENCH_COMPARE's
 * builds, each an `ours-hs256@<name>` guard). It mints its tokens through our own router (logins
 * on a loopback port), then answers one `run` message ({ variants, rounds, ms, loads }) with
 * nanoseconds per call for each variant, round and load, `ms` of calls each. A load is a number
 * of distinct tokens sent in turn: 1 is one token over and over (what a verified-token cache
 * serves); more tokens than a cache holds is what it is for; far more, every request a miss.
 * Rounds interleave the variants; `none` is the harness alone.
 */
import express from 'express';
import { statelessGuards, tamperedToken } from './guards.mjs';
import { distDir, loadLibrary } from './library.mjs';
import { serveIpc } from './procs.mjs';

const config = JSON.parse(process.env.BENCH_CONFIG ?? '{}');
const lib = await loadLibrary();
const expiresIn = '30m';
const guards = { none: () => ({ handlers: [], userId: () => 'u_000001' }), ...statelessGuards(lib, { secret: config.secret, expiresIn }) };
// BENCH_COMPARE's other builds of the library: `ours-hs256@<name>`, our guard as that build has it.
for (const { name, dir } of config.compare ?? []) {
  guards[`ours-hs256@${name}`] = statelessGuards(await loadLibrary(distDir(dir)), { secret: config.secret, expiresIn })['ours-hs256'];
}

/** `count` tokens of as many users, minted `parallel` logins at a time. */
async function mintTokens(count, parallel = 20) {
  const app = express();
  app.use(
    '/auth',
    lib.createAuthRouter({
      accessToken: { secret: config.secret, expiresIn },
      store: new lib.MemoryTokenStore(),
      verifyCredentials: async (username) => ({ id: username }),
      refreshToken: { transport: 'body' },
      loginThrottle: false,
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const tokens = new Array(count);
    const logIn = async (i) => {
      const username = `u_${String(i + 1).padStart(6, '0')}`;
      const response = await fetch(`http://127.0.0.1:${server.address().port}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'x' }),
      });
      if (response.status !== 200) throw new Error(`login answered ${response.status}`);
      tokens[i] = { username, authorization: `Bearer ${(await response.json()).accessToken}` };
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) await logIn(next++);
      }),
    );
    return tokens;
  } finally {
    server.close();
  }
}

/** A response on which any answer is a refusal: it calls `refused(status)`. */
function refusingResponse(refused) {
  return {
    statusCode: 200,
    status(code) {
      this.statusCode = code;
      return this;
    },
    set() {
      return this;
    },
    setHeader() {},
    getHeader() {},
    json() {
      refused(this.statusCode);
    },
    end() {
      refused(this.statusCode);
    },
  };
}

/**
 * One request through `handlers`: resolves (synchronously when every guard is) to the user id
 * the route would see, or throws when the guard refused it.
 */
function once({ handlers, userId }, authorization) {
  const req = { method: 'GET', url: '/me', headers: { authorization } };
  let outcome; // null: through every guard; otherwise the refusal (an error, or the status answered)
  let settle;
  const done = (refusal) => {
    if (outcome !== undefined) return;
    outcome = refusal ?? null;
    settle?.();
  };
  const res = refusingResponse(done);
  let index = 0;
  const next = (error) => {
    if (error) return done(error);
    const handler = handlers[index++];
    if (handler) handler(req, res, next);
    else done();
  };
  const check = () => {
    if (outcome !== null) throw new Error(`refused: ${outcome?.message ?? outcome}`);
    return userId(req);
  };
  next();
  if (outcome !== undefined) return check();
  return new Promise((resolve) => (settle = resolve)).then(check);
}

/** Nanoseconds per call, over as many calls as fit in `ms` (whole batches), taking the tokens in turn. */
async function timeCalls(guard, tokens, ms) {
  const BATCH = 50;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(ms) * 1_000_000n;
  let calls = 0;
  let now = started;
  while (now < deadline) {
    for (let end = calls + BATCH; calls < end; calls++) {
      const result = once(guard, tokens[calls % tokens.length].authorization);
      if (result instanceof Promise) await result;
    }
    now = process.hrtime.bigint();
  }
  return Number(now - started) / calls;
}

/** Each guard accepts every token as its own user, and refuses a tampered one. */
async function sanityCheck(name, guard, tokens) {
  for (const { username, authorization } of tokens) {
    const userId = await once(guard, authorization);
    if (name !== 'none' && userId !== username) throw new Error(`${name}: user ${userId} for ${username}'s token`);
  }
  if (name === 'none') return;
  try {
    await once(guard, tamperedToken(tokens[0].authorization));
  } catch {
    return;
  }
  throw new Error(`${name}: a tampered token passed`);
}

serveIpc({
  async run({ variants, rounds, ms, loads }) {
    const tokens = await mintTokens(Math.max(...loads));
    const built = Object.fromEntries(variants.map((name) => [name, guards[name]()]));
    // The first 100 tokens are enough to show every guard reads them (a string secret costs ~0.5 ms a call).
    for (const [name, guard] of Object.entries(built)) await sanityCheck(name, guard, tokens.slice(0, 100));
    const results = Object.fromEntries(variants.map((name) => [name, Object.fromEntries(loads.map((count) => [count, []]))]));
    const tokensOf = Object.fromEntries(loads.map((count) => [count, tokens.slice(0, count)]));
    // The first round warms every guard up (the JIT, and the caches); it is not kept.
    for (let round = 0; round <= rounds; round++) {
      for (const count of loads) {
        for (const name of variants) {
          const nanos = await timeCalls(built[name], tokensOf[count], ms);
          if (round > 0) results[name][count].push(nanos);
        }
      }
    }
    return { results };
  },
});
process.send({ type: 'ready' });
