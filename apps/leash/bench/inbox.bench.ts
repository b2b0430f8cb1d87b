/*
 * The reviewers' inbox, live: the time from an approval request being
 * published to it appearing on a reviewer's open queue page.
 *
 * The whole system runs in this process on the embedded engines (temp
 * files), with the inbox `npm start` serves. A reviewer signs in from an
 * invite in Debian's chromium (playwright-core) and keeps the queue open; a
 * MutationObserver in the page notes the wall-clock time each row appears.
 * Support refunds over the threshold are submitted one at a time; each
 * waits for a person. A request's publish time is its approvals.requested
 * event's `time` (set in the approval gate's transaction, so the outbox
 * relay's hop is included); it appears when its row is in the page's DOM.
 * Without chromium, an SSE client in this process stands in for the page
 * (and says so).
 *
 * npm run bench:inbox  [-- --requests 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REFERENCE_SCENARIOS } from '@leash/service-planner';
import { openSession } from '@leash/service-approvals/inbox';
import { createApprovalQueries } from '@leash/service-approvals/gate';
import { chromiumAvailable, openChromium } from '@leash/testing';
import { LeashUnderTest } from '../src/eval/leash-under-test';
import { withDevSigningKeys } from '../src/dev-signing-key';
import { inboxLauncherEnv, launchInbox } from '../src/inbox-launch';

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Seen rows, by approval id: when each first appeared (epoch ms). */
type Seen = () => Promise<Record<string, number>>;

async function browserWatcher(
  base: string,
  sessionId: string,
): Promise<{ seen: Seen; close(): Promise<void> }> {
  const browser = await openChromium();
  await browser.context.addCookies([{ name: 'leash_inbox', value: sessionId, url: base }]);
  const page = await browser.context.newPage();
  await page.goto(base);
  await page.waitForSelector('body[data-ready]');
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    new MutationObserver(() => {
      const at = performance.timeOrigin + performance.now();
      for (const row of document.querySelectorAll<HTMLElement>('#queue .row')) {
        seen[row.dataset.id!] ??= at;
      }
    }).observe(document.getElementById('queue')!, { childList: true });
  });
  return {
    seen: () => page.evaluate(() => (window as unknown as { seen: Record<string, number> }).seen),
    close: () => browser.close(),
  };
}

async function sseWatcher(
  base: string,
  sessionId: string,
): Promise<{ seen: Seen; close(): Promise<void> }> {
  const cookie = `leash_inbox=${sessionId}`;
  const abort = new AbortController();
  const response = await fetch(`${base}/api/events`, { headers: { cookie }, signal: abort.signal });
  const seen: Record<string, number> = {};
  const reader = response.body!.getReader();
  void (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += Buffer.from(value!).toString();
      const at = Date.now();
      for (const match of text.matchAll(/"approvalId":"(apr_\w+)"/g)) seen[match[1]!] ??= at;
      text = text.slice(text.lastIndexOf('\n\n') + 1);
    }
  })();
  return { seen: async () => seen, close: async () => abort.abort() };
}

async function main(): Promise<void> {
  const requests = arg('requests', 100);
  const scenario = REFERENCE_SCENARIOS.find((s) => s.id === 'support.refund-over-threshold')!;
  const dir = mkdtempSync(join(tmpdir(), 'leash-bench-inbox-'));
  const env = inboxLauncherEnv({
    ...process.env,
    LOG_LEVEL: 'error',
    LEASH_DEMO: 'false',
    LEASH_BUS_FILE: join(dir, 'bus.db'),
    LEASH_STORE_FILE: join(dir, 'store.db'),
    LEASH_INBOX_PORT: '0',
  });
  const harness = await LeashUnderTest.start({ tenants: [], reviewers: false, dir, env });
  const inbox = await launchInbox(harness.leash.engines, withDevSigningKeys(env).env, true);
  const published = new Map<string, number>();
  const observer = await harness.leash.engines.bus.subscribe(
    'bench-inbox-observer',
    ['approvals.requested'],
    async (delivery) => {
      if (delivery.event.type === 'leash.approvals.requested.v1') {
        published.set(delivery.event.data.approvalId, Date.parse(delivery.event.time));
      }
    },
    { fromBeginning: true },
  );
  // Refunds of one tenant meet its daily refund cap ($5,000) after 20: spread them over tenants.
  // One session sees them all (sign-in itself is not what is measured).
  const tenants = Array.from({ length: Math.ceil(requests / 20) }, (_, n) => `bench-${n}`);
  const directory = createApprovalQueries(harness.store).directory;
  for (const tenantId of tenants) {
    await directory.add({ tenantId, reviewer: 'bench-lead', groups: ['support-leads'] });
  }
  const { sessionId } = await openSession(
    harness.store,
    { reviewer: 'bench-lead', tenants, via: 'invite' },
    3_600_000,
    Date.now(),
  );
  const inBrowser = chromiumAvailable();
  const watcher = inBrowser
    ? await browserWatcher(inbox.url, sessionId)
    : await sseWatcher(inbox.url, sessionId);
  const latencies: number[] = [];
  const measured = new Set<string>();
  try {
    for (let i = 0; i < requests; i += 1) {
      await harness.submit(scenario, {
        tenantId: tenants[i % tenants.length]!,
        taskId: `bench-inbox-${i}`,
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        // The page notes when each row appeared; this only collects what it noted.
        const seen = await watcher.seen();
        const id = [...published.keys()].find((a) => !measured.has(a) && seen[a] !== undefined);
        if (id !== undefined) {
          measured.add(id);
          latencies.push(seen[id]! - published.get(id)!);
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`request ${i + 1} did not reach the page in 30 s`);
        await new Promise((done) => setTimeout(done, 25));
      }
    }
  } finally {
    await watcher.close();
    await observer.close();
    await inbox.close();
    await harness.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const where = inBrowser ? 'an open chromium page' : 'an SSE client (no chromium here)';
  console.log(`${requests} approval requests, one at a time, each watched for on ${where}:`);
  console.log(
    `  min ${sorted[0]!.toFixed(0)} ms, p50 ${percentile(sorted, 50).toFixed(0)} ms, ` +
      `p90 ${percentile(sorted, 90).toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms`,
  );
  console.log(
    `inbox: publish -> on the page p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms (${requests} requests)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
