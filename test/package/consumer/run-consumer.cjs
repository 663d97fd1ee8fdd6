// One login, one refresh and one protected call against the packed library; prints what it saw.
module.exports = async function run({ express, lib, testRefreshTokenStore, postgres, once }) {
  const secret = 'consumer-secret-of-at-least-32-bytes!';
  const store = new lib.MemoryTokenStore();
  const passwordHash = await lib.hashPassword('pw', { cost: 10 });
  const app = express();
  const auth = lib.createAuth({
    accessToken: { secret },
    store,
    verifyCredentials: lib.createCredentialsVerifier({ findUser: () => ({ id: 'u1', passwordHash }), cost: 10 }),
    refreshToken: { transport: 'body' },
  });
  app.use('/auth', auth.router);
  app.get('/me', auth.requireAccessToken({ revocation: true }), (req, res) => res.json({ userId: req.auth.userId }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${server.address().port}`;
  const post = (path, body) =>
    fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) =>
      r.json(),
    );
  try {
    const login = await post('/auth/login', { username: 'a', password: 'pw' });
    const refreshed = await post('/auth/refresh', { refreshToken: login.refreshToken });
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${refreshed.accessToken}` } }).then((r) => r.json());
    const error = new lib.InvalidGrantError('reused');
    // The PostgreSQL store comes from its subpath alone, and loads no driver: the app brings its pool.
    const postgresStore = {
      store: typeof postgres.PostgresTokenStore,
      schema: postgres.postgresSchema().startsWith('-- express-refresh-tokens'),
      notInRoot: lib.PostgresTokenStore === undefined,
      pgLoaded: Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]pg[\\/]/.test(file)),
    };
    console.log(
      JSON.stringify({
        userId: me.userId,
        testing: typeof testRefreshTokenStore,
        errorCode: error.code,
        isAuthError: error instanceof lib.AuthError,
        postgresStore,
      }),
    );
  } finally {
    server.close();
    await store.close();
  }
};
