// One-stop start for browser tests: bundles the SIP libraries, serves the
// harness page on http://127.0.0.1:<port>/ and launches headless Chromium.
//
//   const h = await startHarness();
//   const page = await h.newPage();
//   const alice = await BrowserUA.create(page, { lib: 'jssip', wsUri, uri, password });
//   ...
//   await h.close();
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundles } from './bundle.mjs';
import { startStaticServer } from './http-server.mjs';
import { launchChromium } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * options: headless (true), fakeAudioFile (WAV for the fake microphone),
 * extraArgs (more Chromium flags), routes (more files for the HTTP server),
 * onConsole(page, msg) (default: print page errors and warnings to stderr;
 * set E2E_PAGE_CONSOLE=1 to print everything).
 */
export async function startHarness(options = {}) {
  const bundles = await buildBundles();
  const routes = {
    '/index.html': await fs.readFile(path.join(here, 'page', 'index.html'), 'utf8'),
    '/harness.js': await fs.readFile(path.join(here, 'page', 'harness.js'), 'utf8'),
    '/jssip.js': bundles['jssip.js'],
    '/sipjs.js': bundles['sipjs.js'],
    ...(options.routes || {}),
  };
  const http = await startStaticServer(routes);
  let browser;
  try {
    browser = await launchChromium(options);
  } catch (err) {
    await http.close();
    throw err;
  }
  const showAll = process.env.E2E_PAGE_CONSOLE === '1';
  const onConsole = options.onConsole || ((page, msg) => {
    const t = msg.type();
    if (showAll || t === 'error' || t === 'warning') process.stderr.write(`[page ${t}] ${msg.text()}\n`);
  });
  return {
    url: http.url,
    context: browser.context,
    async newPage() {
      const page = await browser.context.newPage();
      page.on('console', (msg) => onConsole(page, msg));
      page.on('pageerror', (err) => process.stderr.write(`[page exception] ${err.stack || err}\n`));
      await page.goto(`${http.url}/`);
      await page.waitForFunction(() => window.harness && window.harness.ready);
      return page;
    },
    async close() {
      await browser.close();
      await http.close();
    },
  };
}
