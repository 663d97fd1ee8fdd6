// The page of the single-page-app example, served from its own origin: static files only. It
// loads the browser client and talks to the API on the other origin. See README.md beside this file.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @param {{ apiUrl: () => string }} options the API's URL, read at each page load */
export function createPageServer({ apiUrl }) {
  const app = express();
  const clientDir = dirname(fileURLToPath(import.meta.resolve('express-refresh-tokens/client')));
  app.use('/client', express.static(clientDir, { index: false }));
  const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');
  app.get('/', (_req, res) => {
    res.type('html').send(page.replace('%API_URL%', escapeHtml(apiUrl())));
  });
  return app;
}
