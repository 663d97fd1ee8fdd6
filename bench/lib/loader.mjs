/*
 * The load generator, in its own process (pinned apart from the servers): autocannon's
 * programmatic API, driven over IPC by run.mjs.
 *
 * - `get`: a fixed request (GET /me with a Bearer token) on N keep-alive connections, or with
 *   `tokens`, each request with the next of many tokens.
 * - `post`: a fixed JSON POST (/login).
 * - `refresh`: every connection holds a refresh token of its own family and sends it to
 *   POST /auth/refresh; each answer's successor is what that connection sends next, so every
 *   request is a real rotation. A connection whose chain breaks takes a spare token.
 * - `login`: logs in through the router (fetch) and returns the tokens.
 */
import autocannon from 'autocannon';
import { serveIpc } from './procs.mjs';

function summarize(result) {
  const ok = result['2xx'];
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
    rps: ok / result.duration,
    /** Every answer, whatever its status: the throttle table measures 401 and 429 paths. */
    answeredRps: (ok + result.non2xx) / result.duration,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
  };
}

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon({ ...options, pipelining: 1 }, (error, result) => (error ? reject(error) : resolve(summarize(result))));
  });
}

async function login(baseUrl, username) {
  const res = await fetch(`${baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'unused' }),
  });
  if (res.status !== 200) throw new Error(`login as ${username} at ${baseUrl}: ${res.status} ${await res.text()}`);
  return res.json();
}

serveIpc({
  async get({ url, connections, duration, headers, tokens }) {
    if (!tokens) return { result: await run({ url, connections, duration, headers }) };
    // Many tokens in turn, each request the next one: a server's view of many clients.
    let next = 0;
    const requests = [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, headers: { ...headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }),
      },
    ];
    return { result: await run({ url, connections, duration, headers, requests }) };
  },

  async post({ url, connections, duration, body, timeout = 30 }) {
    return {
      result: await run({ url, connections, duration, timeout, method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    };
  },

  async login({ baseUrl, usernames }) {
    return { tokens: await Promise.all(usernames.map((username) => login(baseUrl, username))) };
  },

  async refresh({ baseUrl, connections, duration, pool }) {
    // `pool`: a refresh token of its own family for each connection, plus spares for chains that
    // break (an error answer).
    let broken = 0;
    const result = await run({
      url: baseUrl,
      connections,
      duration,
      setupClient(client) {
        const state = { token: pool.pop() };
        client.setRequests([
          {
            method: 'POST',
            path: '/auth/refresh',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: JSON.stringify({ refreshToken: state.token ?? 'none' }) }),
            onResponse: (status, body) => {
              if (status === 200) {
                state.token = JSON.parse(body).refreshToken;
              } else {
                broken++;
                state.token = pool.pop();
              }
            },
          },
        ]);
      },
    });
    return { result: { ...result, brokenChains: broken } };
  },
});

process.send({ type: 'ready' });
