/* The README's RedisTokenStore set-up, run as written against the test server (README "Stores"). */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type * as ioredis from 'ioredis';
import * as library from '../../src/index.js';
import { readmeBlock, runBlock } from '../helpers/readme.js';
import { useStore } from '../helpers/store-in-use.js';

it("connects a RedisTokenStore as the README's set-up shows, with the default key prefix and an error listener", async () => {
  const saved = process.env.REDIS_URL;
  process.env.REDIS_URL = `redis://127.0.0.1:${process.env.ERT_REDIS_PORT}`;
  const warnings: unknown[] = [];
  const warn = jest.spyOn(console, 'warn').mockImplementation((message: unknown) => void warnings.push(message));
  let client: ioredis.Redis | undefined;
  try {
    const made = await runBlock(
      readmeBlock('### `RedisTokenStore`'),
      {},
      { ioredis: require('ioredis'), 'express-refresh-tokens': library },
      ['client', 'store'],
    );
    client = made.client as ioredis.Redis;
    await once(client, 'ready'); // as the text below the block says
    const userId = `readme-${randomBytes(6).toString('hex')}`;
    const sessions = await useStore(made.store as library.RedisTokenStore, userId);
    expect(sessions).toHaveLength(1);
    expect((await client.keys('ert:*')).length).toBeGreaterThan(0);
    client.emit('error', new Error('connection reset'));
    expect(warnings).toEqual(['redis: connection reset']);
  } finally {
    client?.disconnect();
    warn.mockRestore();
    process.env.REDIS_URL = saved;
  }
});
