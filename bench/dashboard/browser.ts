/**
 * A headless Chromium for the dashboard's test and screenshot: the system's browser (puppeteer-core downloads
 * none), found at $CHROMIUM_PATH or /usr/bin/chromium. Missing is an error, not a reason to skip: CI installs it.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].filter((p): p is string => !!p);

export function chromiumPath(): string {
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `no Chromium: looked at ${CANDIDATES.join(', ')}. Install it (apt-get install chromium; .ci/run does) ` +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary',
    );
  }
  return found;
}

export function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    defaultViewport: viewport,
    // Root in a container has no user namespace for the sandbox; /dev/shm there is often too small for Chromium.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run'],
  });
}
