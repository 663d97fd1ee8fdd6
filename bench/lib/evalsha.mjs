/*
 * The reference row of the refresh table: a bare EVALSHA from one Node process (pinned where the
 * server runs), with the rotate call's keys and argument sizes and a script of the rotate
 * script's size that does nothing but answer a reply of the same shape. It is what one round
 * trip to Redis costs from Node, with no HTTP, JSON, hashing or signing around it.
 *
 * Messages: `run { redisPort, duration, concurrency, scriptLength }`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { serveIpc } from './procs.mjs';

// The rotate script's 'rotated' reply: the session's seven values, the user record, no sealed successor.
const BODY = 'return {\'rotated\', ARGV[1], ARGV[5], ARGV[5], ARGV[6], ARGV[6], false, false, \'{"id":"user-0-0"}\', false}\n';

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

serveIpc({
  async run({ redisPort, duration, concurrency, scriptLength }) {
    const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    await client.connect();
    try {
      const padding = Math.max(0, scriptLength - BODY.length - 4);
      const lua = `-- ${'x'.repeat(padding)}\n${BODY}`;
      const sha = await client.script('LOAD', lua);
      const b64 = (bytes) => randomBytes(bytes).toString('base64url');
      const familyId = b64(6).slice(0, 8) + b64(16);
      const base = `bench:{${familyId.slice(0, 8)}}:`;
      // The rotate script's: familyId, presentedHash, proofHash, successorHash, now, idleExpiresAt, graceMs, channel.
      const args = [
        `${base}f:${familyId}`,
        base,
        familyId,
        b64(32),
        b64(32),
        b64(32),
        String(Date.now()),
        String(Date.now() + 14 * 86400e3),
        '0',
        'bench:revocations',
      ];
      await client.evalsha(sha, 2, ...args); // warm the connection
      const latencies = [];
      const end = performance.now() + duration * 1000;
      const started = performance.now();
      const worker = async () => {
        while (performance.now() < end) {
          const t0 = performance.now();
          await client.evalsha(sha, 2, ...args);
          latencies.push(performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      return {
        result: {
          ok: latencies.length,
          rps: latencies.length / elapsed,
          latency: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
          scriptBytes: lua.length,
        },
      };
    } finally {
      client.disconnect();
    }
  },
});

process.send({ type: 'ready' });
