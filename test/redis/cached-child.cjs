/*
 * A separate app process for cached-revocation.test.ts: the built library (dist/, which
 * `npm test` builds first), a Redis client of its own, and one route with revocation: 'cached'.
 * Sends { port } to its parent once listening.
 */
const express = require('express');
const { Redis } = require('ioredis');
const { RedisTokenStore, recommendedRedisOptions, requireAccessToken } = require('../../dist/cjs/index.js');

async function main() {
  const client = new Redis({ ...recommendedRedisOptions, host: '127.0.0.1', port: Number(process.env.REDIS_PORT), lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  const store = new RedisTokenStore({ client, keyPrefix: process.env.KEY_PREFIX });
  const app = express();
  app.get('/cached', requireAccessToken({ secret: process.env.SECRET, store, revocation: 'cached' }), (req, res) => {
    res.json({ userId: req.auth.userId });
  });
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
