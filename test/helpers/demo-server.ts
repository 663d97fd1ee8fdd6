import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The basic example's server (examples/basic/server.mjs, `npm run demo`) in its own process on a
 * free port, as a user starts it; `lines` collects what it prints (the sign-in links). Needs the
 * build: the example imports the package.
 */
export interface DemoServer {
  base: string;
  lines: string[];
  /** Resolves to the first printed line (from now on) that matches. */
  nextLine(pattern: RegExp): Promise<string>;
  stop(): Promise<void>;
}

export async function startDemoServer(env: Record<string, string> = {}): Promise<DemoServer> {
  const root = join(__dirname, '..', '..');
  const child: ChildProcess = spawn(process.execPath, [join(root, 'examples', 'basic', 'server.mjs')], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.splice(0)) {
      if (waiter.pattern.test(line)) waiter.resolve(line);
      else waiters.push(waiter);
    }
  });
  const nextLine = (pattern: RegExp) => new Promise<string>((resolve) => waiters.push({ pattern, resolve }));
  const started = await Promise.race([
    nextLine(/demo on http:\/\/localhost:\d+/),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the demo exited with ${code}: ${stderr}`)))),
  ]);
  const port = /localhost:(\d+)/.exec(started)![1];
  return {
    base: `http://127.0.0.1:${port}`,
    lines,
    nextLine,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
