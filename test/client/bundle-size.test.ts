import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

/**
 * The browser client, bundled as an app's bundler would (esbuild, minified, for browsers: a
 * Node-only import would fail to resolve here), must stay under 4 KB gzipped. The README states
 * the size; `npm run size` prints it.
 */
it('bundles for browsers, minified and gzipped, under 4096 bytes', () => {
  const { outputFiles } = buildSync({
    entryPoints: [join(__dirname, '..', '..', 'src', 'client', 'index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022', // as the package's own build
    write: false,
    logLevel: 'silent',
  });
  const bundle = outputFiles[0]!.contents;
  expect(Buffer.from(bundle).toString('utf8')).toContain('createAuthClient');
  const gzipped = gzipSync(bundle, { level: 9 }).length;
  expect(gzipped).toBeGreaterThan(1000); // the whole client, not an empty bundle
  expect(gzipped).toBeLessThan(4096);
});
