/*
 * The README's "Architecture" section against the tree: every file or folder of src/ it names
 * exists, and it names every folder of src/, so a rename or a new layer cannot leave it behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readmeSection } from '../helpers/readme.js';

const root = join(__dirname, '..', '..');
const architecture = readmeSection('## Architecture');
/** Every `src/...` path of the section, without the punctuation of the sentence around it. */
const named = [...new Set([...architecture.matchAll(/\bsrc\/[\w./-]*/g)].map(([path]) => path.replace(/[.,]+$/, '')))];

it('names src/ paths', () => {
  expect(named.length).toBeGreaterThan(20);
});

it.each(named)('names %s, which exists', (path) => {
  expect(existsSync(join(root, path))).toBe(true);
});

it('names every folder of src/', () => {
  const folders = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `src/${entry.name}/`);
  expect(folders.filter((folder) => !architecture.includes(folder))).toEqual([]);
});
