import { startDemoServer, type DemoServer } from '../helpers/demo-server.js';

/**
 * The demo's other ways in (examples/basic, `npm run demo`), over HTTP against the demo server as
 * it runs: sign-up, which starts a session right after creating the user, and the one-time
 * sign-in link printed to the console. Both start their session with `auth.startSession`.
 */
let demo: DemoServer;
beforeAll(async () => {
  demo = await startDemoServer();
});
afterAll(() => demo?.stop());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(demo.base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** The `Set-Cookie` line a response sent for the cookie `name`, if any. */
function setCookieLine(res: Response, name: string): string | undefined {
  return res.headers.getSetCookie().find((cookie) => cookie.startsWith(`${name}=`));
}

/** The refresh cookie a response set, and its Path. */
function refreshCookie(res: Response): { value: string; path: string } | undefined {
  const set = setCookieLine(res, 'refresh_token');
  if (!set) return undefined;
  return { value: set.split(';')[0]!.slice('refresh_token='.length), path: /Path=([^;]+)/.exec(set)![1]! };
}

/** The cookie that binds a sign-in link to the browser that asked for it, as that browser sends it back. */
function bindingOf(res: Response): string {
  const set = setCookieLine(res, 'magic_link_binding');
  if (!set) throw new Error('no binding cookie was set');
  return set.split(';')[0]!;
}

async function me(accessToken: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${demo.base}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function refreshWith(cookie: string): Promise<number> {
  return (await fetch(`${demo.base}/auth/refresh`, { method: 'POST', headers: { cookie: `refresh_token=${cookie}` } })).status;
}

describe('POST /api/signup', () => {
  it('creates the user and starts a session at once: the token response, the refresh cookie, amr pwd', async () => {
    const res = await post('/api/signup', { username: 'ada', password: 'analytical engine' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { accessToken: string; tokenType: string; expiresIn: number };
    expect(body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 60 });
    expect(await me(body.accessToken)).toMatchObject({ userId: 'user-2', name: 'ada', amr: ['pwd'] });
    const cookie = refreshCookie(res)!;
    expect(cookie.path).toBe('/auth');
    expect(await refreshWith(cookie.value)).toBe(200);
    // The new user logs in with the password chosen.
    expect((await post('/auth/login', { username: 'ada', password: 'analytical engine' })).status).toBe(200);
  });

  it('refuses a username taken (409), a short password (400), and a body that is not JSON (415), starting no session', async () => {
    const taken = await post('/api/signup', { username: 'demo', password: 'another password' });
    const short = await post('/api/signup', { username: 'bob', password: 'short' });
    const form = await fetch(`${demo.base}/api/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=eve&password=long+enough+pw',
    });
    expect([taken.status, short.status, form.status]).toEqual([409, 400, 415]);
    expect(((await taken.json()) as { error: string }).error).toBe('username_taken');
    for (const res of [taken, short, form]) expect(refreshCookie(res)).toBeUndefined();
    expect((await post('/auth/login', { username: 'eve', password: 'long enough pw' })).status).toBe(401);
  });
});

describe('the sign-in link (magic link)', () => {
  it('is printed to the console, signs in once with amr otp, and then is spent', async () => {
    const printed = demo.nextLine(/^sign-in link for demo /);
    const asked = await post('/api/magic-link', { username: 'demo' });
    expect(asked.status).toBe(202);
    const { sent, link } = (await asked.json()) as { sent: boolean; link: string };
    expect(sent).toBe(true);
    // The console has the same link; the demo answers it too, for the page's convenience.
    expect(await printed).toBe(`sign-in link for demo (valid 10 minutes, once, in the browser that asked): ${link}`);
    const token = /#magic-link=([\w-]{43})$/.exec(link)![1]!;
    const browser = { cookie: bindingOf(asked) };

    const first = await post('/api/magic-link/verify', { token }, browser);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as { accessToken: string };
    expect(await me(tokens.accessToken)).toMatchObject({ userId: 'user-1', name: 'demo', amr: ['otp'] });
    expect(await refreshWith(refreshCookie(first)!.value)).toBe(200);

    const again = await post('/api/magic-link/verify', { token }, browser);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_link' });
    expect(refreshCookie(again)).toBeUndefined();
  });

  it("works only in the browser that asked for it: an attacker's link opened by a victim signs no one in", async () => {
    // The attacker asks for a link to their own account, in their own browser...
    const asked = await post('/api/magic-link', { username: 'demo' });
    const token = /#magic-link=([\w-]{43})$/.exec(((await asked.json()) as { link: string }).link)![1]!;
    // ...and the victim's browser, which never asked (or asked for a link of its own), opens it.
    const victim = { cookie: bindingOf(await post('/api/magic-link', { username: 'nobody' })) };
    for (const headers of [{}, victim]) {
      const res = await post('/api/magic-link/verify', { token }, headers);
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, 'invalid_link']);
      expect(refreshCookie(res)).toBeUndefined();
    }
    // Refused once, the link is spent: even the attacker's browser cannot use it now.
    expect((await post('/api/magic-link/verify', { token }, { cookie: bindingOf(asked) })).status).toBe(400);
  });

  it('answers 202 for an unknown user too, with no link made or printed', async () => {
    const before = demo.lines.length;
    const res = await post('/api/magic-link', { username: 'nobody' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ sent: true });
    expect(demo.lines.slice(before)).toEqual([]);
  });

  it('refuses a token it never made, and one of another shape, with 400 invalid_link', async () => {
    for (const token of ['A'.repeat(43), 42, '']) {
      const res = await post('/api/magic-link/verify', { token });
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([400, 'invalid_link']);
    }
  });
});
