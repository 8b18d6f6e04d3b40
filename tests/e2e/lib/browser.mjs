// Headless Chromium (Debian's /usr/bin/chromium) through playwright-core.
// Never `npx playwright install`: no browser download is possible here.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Flags for a WebRTC client on loopback:
 * - fake media devices and auto-accepted permission prompt;
 * - no outside DNS (everything but localhost/127.0.0.1 fails to resolve);
 * - ICE: bind 0.0.0.0 and expose the interface address as a host candidate
 *   (which the page may rewrite to 127.0.0.1, see rewriteCandidates), no mDNS
 *   obfuscation of host candidates.
 */
export function chromiumArgs({ fakeAudioFile, extraArgs = [] } = {}) {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    ...(fakeAudioFile ? [`--use-file-for-fake-audio-capture=${fakeAudioFile}`] : []),
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    '--webrtc-ip-handling-policy=default_public_and_private_interfaces',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
    ...extraArgs,
  ];
}

/**
 * Launches Chromium with a fresh temporary user-data-dir.
 * Returns { context, userDataDir, close() }; close() also removes the dir.
 */
export async function launchChromium({ headless = true, fakeAudioFile, extraArgs, executablePath = CHROMIUM_PATH } = {}) {
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'webrtc2sip-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless,
      args: chromiumArgs({ fakeAudioFile, extraArgs }),
      permissions: ['microphone', 'camera'],
      timeout: 30000,
    });
  } catch (err) {
    await fs.rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    userDataDir,
    async close() {
      await context.close().catch(() => {});
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}
