// Bundles JsSIP and SIP.js from node_modules into browser scripts, in memory.
// JsSIP 3.13 ships only CommonJS lib/ (no dist/), SIP.js 0.21 only ES-module
// lib/ (no dist/): esbuild turns each into one IIFE defining a global
// (window.JsSIP, window.SIP). Takes well under a second; nothing is written.
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}

export function libraryVersions() {
  return {
    jssip: require('jssip/package.json').version,
    'sip.js': require('sip.js/package.json').version,
    'playwright-core': require('playwright-core/package.json').version,
    ws: require('ws/package.json').version,
  };
}

async function bundle(entry, globalName) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName,
    platform: 'browser',
    target: 'chrome110',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

let cached;

/** Returns { 'jssip.js': source, 'sipjs.js': source } (global JsSIP / SIP). */
export async function buildBundles() {
  if (!cached) {
    cached = Promise.all([
      bundle(path.join(packageDir('jssip'), 'lib', 'JsSIP.js'), 'JsSIP'),
      bundle(path.join(packageDir('sip.js'), 'lib', 'index.js'), 'SIP'),
    ]).then(([jssip, sipjs]) => ({ 'jssip.js': jssip, 'sipjs.js': sipjs }));
  }
  return cached;
}
