// src/e2ee/vendor/ts-mls.js (the ts-mls bundle the browser loads) is exactly what build/bundle-mls.mjs makes from
// the pinned ts-mls and esbuild in node_modules: nobody edited it, and it was rebuilt after an upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundleMls, BUNDLE_PATH } from '../../build/bundle-mls.mjs';

test('the committed ts-mls bundle matches a fresh bundle (npm run bundle-mls)', async () => {
  const fresh = await bundleMls();
  const committed = readFileSync(BUNDLE_PATH, 'utf8');
  assert.ok(fresh.length > 100000, `bundle of ${fresh.length} characters`);
  assert.ok(committed === fresh, 'src/e2ee/vendor/ts-mls.js differs from a fresh bundle: run npm run bundle-mls');
  assert.match(committed, /^\/\/ ts-mls 1\.6\.4 /);
});
