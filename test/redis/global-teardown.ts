/* Jest globalTeardown of the 'redis' project: stops the servers that global-setup.ts started. */
export default async function globalTeardown(): Promise<void> {
  const shared = globalThis.__ertRedisServers;
  globalThis.__ertRedisServers = undefined;
  if (!shared) return;
  await Promise.all([shared.standalone?.stop(), shared.cluster?.stop()]);
}
