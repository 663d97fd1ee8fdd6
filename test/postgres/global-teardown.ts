/* Jest globalTeardown of the 'postgres' project: stops the server that global-setup.ts started. */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.__ertPostgresServer;
  globalThis.__ertPostgresServer = undefined;
  await server?.stop();
}
