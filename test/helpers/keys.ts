import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const ecKeyPair = (curve = 'prime256v1'): KeyPair => generateKeyPairSync('ec', { namedCurve: curve });
export const rsaKeyPair = (): KeyPair => generateKeyPairSync('rsa', { modulusLength: 2048 });

/**
 * A real HTTP server on a free loopback port standing for a JWKS host: `answer` decides each
 * response (the test changes it to go down, get slow, grow too large), `requests` counts them.
 */
export interface JwksHost {
  url: string;
  requests: number;
  answer: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startJwksHost(answer: JwksHost['answer']): Promise<JwksHost> {
  const host = { requests: 0, answer } as JwksHost;
  const server: Server = createServer((req, res) => {
    host.requests += 1;
    host.answer(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  host.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  host.close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return host;
}

/** An answer with a JSON body, as a JWKS host sends it. */
export const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};
