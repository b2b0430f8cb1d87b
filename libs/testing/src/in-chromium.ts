import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Debian's chromium, which the project's scripts install with apt (.ci/run); no browser is downloaded. */
export const CHROMIUM = process.env.LEASH_CHROMIUM ?? '/usr/bin/chromium';

const HOW = `no chromium at ${CHROMIUM}; install it (apt-get install -y chromium) or set LEASH_CHROMIUM to one`;

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * A describe block that needs a real browser. Without chromium it is
 * reported as skipped, with one line in the run's output that says why and
 * how to run it: these tests never pass silently.
 */
export function describeInChromium(title: string, body: () => void): void {
  if (chromiumAvailable()) {
    describe(title, body);
    return;
  }
  process.stderr.write(`SKIPPED ${title}: ${HOW}\n`);
  describe(title, () => {
    it.skip(`SKIPPED: ${HOW}`, () => undefined);
  });
}

/** A headless chromium with a fresh profile, removed on close. */
export interface Chromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts chromium headless through playwright-core. The flags keep it from
 * reaching out on its own (this network refuses such connections, and a test
 * must not depend on them): no background networking, updates, sync or QUIC.
 */
export async function openChromium(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<Chromium> {
  if (!chromiumAvailable()) throw new Error(HOW);
  // Loaded here, so a spec that only reports itself skipped never needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'leash-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1100, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
