import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCodes } from '../src/index.js';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

it("lists every error code with its status in the README's error table, and no other", () => {
  const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## How rotation'));
  const rows = [...section.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map(([, status, code]) => [code, Number(status)]);
  expect(Object.fromEntries(rows)).toEqual(errorCodes);
  expect(rows).toHaveLength(Object.keys(errorCodes).length);
});
