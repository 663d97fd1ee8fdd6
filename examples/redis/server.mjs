// The basic example on Redis: the same app and page, with its sessions in Redis, as several
// instances behind a load balancer would share them. REDIS_URL (default redis://127.0.0.1:6379)
// says where; run it with `npm run demo:redis` (port 3000, or PORT).
import { Redis } from 'ioredis';
import { RedisTokenStore, recommendedRedisOptions } from 'express-refresh-tokens';
import { createDemoApp, demoUser, RANDOM_SECRET_NOTICE } from '../basic/app.mjs';

const port = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// The app owns the client; the store only uses it. With the recommended options a Redis outage
// answers 503 at once instead of hanging requests, and the client reconnects by itself.
const client = new Redis(redisUrl, recommendedRedisOptions);
client.on('error', (error) => console.warn(`redis: ${error.message}`));
const store = new RedisTokenStore({ client, keyPrefix: 'ert-demo:' });

const { app, secretIsRandom } = await createDemoApp({
  secret: process.env.JWT_SECRET,
  accessTokenTtl: process.env.ACCESS_TOKEN_TTL,
  idleTtl: process.env.REFRESH_IDLE_TTL,
  store,
});

if (secretIsRandom) console.log(RANDOM_SECRET_NOTICE);
const server = app.listen(port, () => {
  console.log(`express-refresh-tokens demo on Redis (${redisUrl}) at http://localhost:${port}`);
  console.log(`demo user: ${demoUser.username} / ${demoUser.password}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    client.quit();
  });
}
