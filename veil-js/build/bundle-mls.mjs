// Bundles the part of ts-mls the browser SDK uses (build/ts-mls-entry.js) with its dependencies (@hpke/core,
// @noble/*) into one ES module, src/e2ee/vendor/ts-mls.js, which the SDK imports by a relative path: the server
// serves veil-js/src as static files (/sdk/...) and a page needs no import map or node_modules.
//
//   npm run bundle-mls            writes the file
//   bundleMls()                   the bundle's text (test/e2ee/mls-bundle.test.mjs compares it with the file)
//
// Pinned: esbuild 0.28.2 and ts-mls 1.6.4 (package-lock.json); the output is deterministic (no minification, no
// source map, no timestamps). Optional ts-mls peers for other cipher suites stay external (never loaded for suite 1).
import { build } from 'esbuild';
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BUNDLE_PATH = path.resolve(here, '../src/e2ee/vendor/ts-mls.js');
const OPTIONAL_PEERS = ['@hpke/chacha20poly1305', '@hpke/hybridkem-x-wing', '@hpke/dhkem-x448', '@hpke/ml-kem',
  '@noble/post-quantum'];

export async function bundleMls() {
  const pkg = JSON.parse(readFileSync(path.resolve(here, '../node_modules/ts-mls/package.json'), 'utf8'));
  const res = await build({
    entryPoints: [path.resolve(here, 'ts-mls-entry.js')],
    absWorkingDir: path.resolve(here, '..'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    legalComments: 'inline',
    external: OPTIONAL_PEERS,
    logLevel: 'silent',
    banner: { js: `// ts-mls ${pkg.version} (MIT) with @hpke/core and @noble/* (MIT), bundled by veil-js/build/bundle-mls.mjs.\n`
      + '// Generated: do not edit (npm run bundle-mls).' },
  });
  return res.outputFiles[0].text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = await bundleMls();
  writeFileSync(BUNDLE_PATH, text);
  console.log(`wrote ${path.relative(process.cwd(), BUNDLE_PATH)} (${text.length} characters)`);
}
