/*
 * Virtual HTTP clients for bench/reliability.mjs, in a process of their own (pinned apart from the
 * app): plain node:http over one keep-alive agent, so that tens of thousands of requests reuse a
 * few sockets and the app, not connection set-up, is what is measured.
 *
 * Messages:
 * - `outage-login { baseUrl, clients }`: each virtual client logs in, a session of its own.
 * - `outage-run { refreshEvery, backoffMs }`: every client loops until `outage-stop`: GET /me with
 *   its access token, and every `refreshEvery`-th request POST /auth/refresh with its latest
 *   refresh token. On 200 it keeps the new tokens. On 503 or no answer it waits `backoffMs` and
 *   retries; a refresh is retried with the same token it holds. A client thus only ever presents
 *   its latest token and never replays one, so every 401 it gets is a wrongful revocation: it is
 *   noted, and the client logs in again to keep the load up. After the stop, every client
 *   refreshes its latest token once more (`final`: the statuses). Every answer is returned as
 *   parallel arrays: time (epoch ms, when it arrived), kind (0 GET /me, 1 refresh), status (0: no
 *   answer) and latency (ms).
 * - `outage-stop`: ends the loops of `outage-run`.
 * - `rotation-trials { baseUrl, trials, parallel }`: per trial a fresh login, then `parallel`
 *   concurrent POST /auth/refresh with its one refresh token, then GET /me with the login's access
 *   token, which answers 401 once the family is revoked.
 */
import { Agent, request } from 'node:http';
import { serveIpc } from './procs.mjs';

const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const REQUEST_TIMEOUT_MS = 10_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request; resolves `{ status, body, ms }`, status 0 when no answer came (never rejects). */
function send(baseUrl, method, path, { json, bearer } = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const done = (status, body = '') => resolve({ status, body, ms: performance.now() - started });
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = {};
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const req = request(`${baseUrl}${path}`, { method, agent, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode, Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => done(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(body);
  });
}

const refresh = (baseUrl, refreshToken) => send(baseUrl, 'POST', '/auth/refresh', { json: { refreshToken } });

async function login(baseUrl, username) {
  const res = await send(baseUrl, 'POST', '/auth/login', { json: { username, password: 'unused' } });
  if (res.status !== 200) throw new Error(`login as ${username}: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

// ---- outage ----

let outage; // { baseUrl, clients: [{ name, accessToken, refreshToken }], stopping }

/** One virtual client's loop; `record(kind, answer)` keeps every answer. */
async function runClient(client, { refreshEvery, backoffMs }, record) {
  const { baseUrl } = outage;
  let count = 0;
  let refreshPending = false;
  while (!outage.stopping) {
    refreshPending ||= ++count % refreshEvery === 0;
    const answer = refreshPending
      ? await refresh(baseUrl, client.refreshToken)
      : await send(baseUrl, 'GET', '/me', { bearer: client.accessToken });
    record(refreshPending ? 1 : 0, answer);
    if (answer.status === 200) {
      if (refreshPending) Object.assign(client, JSON.parse(answer.body));
      refreshPending = false;
    } else if (answer.status === 401) {
      client.wrongful.push({ at: Date.now(), kind: refreshPending ? 'refresh' : 'me', body: answer.body });
      refreshPending = false;
      while (!outage.stopping) {
        try {
          Object.assign(client, await login(baseUrl, client.name));
          break;
        } catch {
          await sleep(backoffMs);
        }
      }
    } else {
      await sleep(backoffMs); // 503, another error, or no answer: wait, then the same request again
    }
  }
}

// ---- handlers ----

serveIpc({
  async 'outage-login'({ baseUrl, clients }) {
    const names = Array.from({ length: clients }, (_, i) => `outage-${i}`);
    const sessions = await Promise.all(names.map((name) => login(baseUrl, name)));
    outage = { baseUrl, stopping: false, clients: sessions.map((session, i) => ({ name: names[i], wrongful: [], ...session })) };
    return {};
  },

  async 'outage-run'(options) {
    const records = { time: [], kind: [], status: [], ms: [] };
    const record = (kind, { status, ms }) => {
      records.time.push(Date.now());
      records.kind.push(kind);
      records.status.push(status);
      records.ms.push(Math.round(ms * 100) / 100);
    };
    await Promise.all(outage.clients.map((client) => runClient(client, options, record)));
    const final = await Promise.all(outage.clients.map(async (client) => (await refresh(outage.baseUrl, client.refreshToken)).status));
    const wrongful = outage.clients.flatMap((client) => client.wrongful.map((event) => ({ client: client.name, ...event })));
    return { records, final, wrongful };
  },

  async 'outage-stop'() {
    outage.stopping = true;
    return {};
  },

  async 'rotation-trials'({ baseUrl, trials, parallel }) {
    const successes = [];
    const refreshStatuses = {};
    const meStatuses = {};
    const started = performance.now();
    for (let trial = 0; trial < trials; trial++) {
      const session = await login(baseUrl, `trial-${trial}`);
      const answers = await Promise.all(Array.from({ length: parallel }, () => refresh(baseUrl, session.refreshToken)));
      for (const { status } of answers) refreshStatuses[status] = (refreshStatuses[status] ?? 0) + 1;
      successes.push(answers.filter(({ status }) => status === 200).length);
      const me = await send(baseUrl, 'GET', '/me', { bearer: session.accessToken });
      meStatuses[me.status] = (meStatuses[me.status] ?? 0) + 1;
    }
    return { successes, refreshStatuses, meStatuses, seconds: (performance.now() - started) / 1000 };
  },
});

process.send({ type: 'ready' });
