// Writes the browser bundle of JsSIP (from tests/e2e's npm packages) next to
// the demo phone page: node deploy/local/write-jssip-bundle.mjs OUT.js
import fs from 'node:fs/promises';
import { buildBundles } from '../../tests/e2e/lib/bundle.mjs';

const out = process.argv[2];
const bundles = await buildBundles();
await fs.writeFile(out, bundles['jssip.js']);
console.log(`wrote ${out}`);
