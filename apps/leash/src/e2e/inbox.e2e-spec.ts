import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describeInChromium, openChromium, waitFor, type Chromium } from '@leash/testing';
import { ROOT, launch, runLeash, type Launched } from './support/processes';

/*
 * The reviewers' inbox in a real browser (Debian's chromium through
 * playwright-core), against `npm start` as a person runs it, demo and all:
 * sign in from an invite, answer the demo's requests, watch the queue move
 * as requests arrive, are answered and are cancelled by a kill, and see
 * that a reviewer outside the group can neither see nor answer a request.
 * Screenshots of the queue and of a request's page go to the spec's
 * temporary folder, or to docs/inbox/ (the README's) with
 * `npm run docs:screenshots`: a test run leaves the tree as it found it.
 */

/** Where a screenshot goes: docs/inbox/ when asked (LEASH_SCREENSHOTS=docs), else `dir`. */
function screenshotPath(dir: string, name: string): string {
  return join(process.env.LEASH_SCREENSHOTS === 'docs' ? join(ROOT, 'docs/inbox') : dir, name);
}

interface Hook {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

describeInChromium("the reviewers' inbox in chromium", () => {
  let dir: string;
  let leash: Launched | undefined;
  let browser: Chromium | undefined;
  let hookServer: Server | undefined;
  const hooks: Hook[] = [];
  let env: NodeJS.ProcessEnv;
  let inboxUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'leash-inbox-'));
    hookServer = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        hooks.push({ path: request.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => hookServer!.listen(0, '127.0.0.1', resolve));
    const hookBase = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}`;
    env = {
      ...process.env,
      LEASH_BUS_FILE: join(dir, 'bus.db'),
      LEASH_STORE_FILE: join(dir, 'store.db'),
      LEASH_INBOX_PORT: '0',
      LEASH_INBOX_WEBHOOKS: JSON.stringify([
        { group: 'support-leads', url: `${hookBase}/slack`, format: 'slack' },
        { group: 'procurement-managers', url: `${hookBase}/generic` },
      ]),
      NO_COLOR: '1',
    };
    delete env.LOG_LEVEL;
    delete env.LEASH_REVIEWERS;
    delete env.LEASH_DEMO;
    leash = launch('apps/leash/src/start.ts', env);
    const line = await waitFor(
      () =>
        /Reviewers' inbox: (http:\/\/\S+)/.exec(leash!.output())?.[1] ??
        (leash!.child.exitCode !== null ? 'ended' : undefined),
      { timeoutMs: 90_000, description: 'the inbox address in the start-up lines' },
    );
    if (line === 'ended') throw new Error(`npm start ended:\n${leash.output()}`);
    inboxUrl = line;
    browser = await openChromium();
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await leash?.stop();
    await new Promise((resolve) => hookServer?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function invite(name: string, ...groups: string[]): Promise<string> {
    const run = await runLeash(
      ['reviewers', 'invite', name, ...groups.flatMap((g) => ['--group', g])],
      env,
    );
    expect(run.stderr).toBe('');
    const link = /(http:\/\/\S+\/signin\?token=\S+)/.exec(run.stdout)?.[1];
    expect(link?.startsWith(`${inboxUrl}/signin?token=`)).toBe(true);
    return link!;
  }

  /** Script errors on any page: there must be none. */
  const pageErrors: string[] = [];

  async function signIn(link: string): Promise<Page> {
    const page = await browser!.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(link);
    await page.click('#signin');
    await page.waitForURL(`${inboxUrl}/`);
    return page;
  }

  /** The queue's rows as the page shows them now: tool, amount, approval id. */
  async function rows(page: Page): Promise<{ tool: string; amount: string; id: string }[]> {
    return page.$$eval('#queue .row', (nodes) =>
      nodes.map((node) => ({
        tool: node.querySelector('.tool')?.textContent ?? '',
        amount: node.querySelector('.amount')?.textContent ?? '',
        id: (node as HTMLElement).dataset.id ?? '',
      })),
    );
  }

  async function waitForRows(
    page: Page,
    description: string,
    test: (list: Awaited<ReturnType<typeof rows>>) => boolean,
  ) {
    return waitFor(
      async () => {
        const list = await rows(page);
        return test(list) ? list : undefined;
      },
      { timeoutMs: 60_000, description },
    );
  }

  const output = () => leash!.output();

  /** Posts a verdict from the page, as its script does (the page's CSRF token unless another is given). */
  async function postVerdict(page: Page, approvalId: string, verdict: unknown, csrf?: string) {
    return page.evaluate(
      async ({ approvalId, verdict, csrf }) => {
        const token =
          csrf ?? document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')!.content;
        const response = await fetch(`/api/requests/${approvalId}/verdict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': token },
          body: JSON.stringify(verdict),
        });
        return { status: response.status, body: await response.text() };
      },
      { approvalId, verdict, csrf },
    );
  }

  /** Opens a page of the inbox and waits for its script (the keyboard works from then on). */
  async function open(page: Page, path: string): Promise<void> {
    await page.goto(`${inboxUrl}${path}`);
    await page.waitForSelector('body[data-ready]');
  }

  it('signs in from an invite, once; the link cannot be used again', async () => {
    const link = await invite('lee@demo.example', 'procurement-managers', 'support-leads');
    const page = await signIn(link);
    expect(await page.textContent('header .who')).toContain('lee@demo.example');
    const cookies = await browser!.context.cookies(inboxUrl);
    expect(cookies.find((c) => c.name === 'leash_inbox')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    const again = await browser!.context.newPage();
    await again.goto(link);
    await again.click('#signin');
    expect(await again.textContent('main')).toContain('used already');
    await again.close();
    await page.close();
  });

  let lee: Page;
  it("shows the demo's requests, soonest expiry first, and one that arrives while it is open", async () => {
    lee = await signIn(await invite('lee@demo.example', 'procurement-managers', 'support-leads'));
    const first = await waitForRows(lee, "the demo's refund and invoice", (list) =>
      ['issue_refund', 'transfer_funds'].every((tool) => list.some((r) => r.tool === tool)),
    );
    // The refund expires in 2 h, the transfer in 4 h.
    expect(first.map((r) => [r.tool, r.amount])).toEqual([
      ['issue_refund', '$240.00'],
      ['transfer_funds', '$310.00'],
    ]);
    expect(await lee.textContent('#queue .row:first-child .quorum')).toBe('0 of 1');
    expect(await lee.textContent('#queue .row:first-child .expiry')).toMatch(/^1h 5\dm$/);
    await lee.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
    await lee.screenshot({ path: screenshotPath(dir, 'queue.png') });

    const submitted = await runLeash(
      ['task', 'submit', '--scenario', 'support.refund-over-threshold', '--tenant', 'demo'],
      env,
    );
    expect(submitted.code).toBe(0);
    await waitForRows(
      lee,
      'the new refund, live',
      (list) => list.filter((r) => r.tool === 'issue_refund').length === 2,
    );
    // Pushed to the open page: it was not reloaded.
    expect(await lee.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  });

  it('sent each group its webhook, Slack-shaped or generic, with a link that opens the request', async () => {
    const slack = await waitFor(() => hooks.find((h) => h.path === '/slack'), {
      description: 'the support-leads webhook',
    });
    expect(slack.body.text).toContain('issue_refund');
    expect(JSON.stringify(slack.body.blocks)).toContain('Open in the inbox');
    const generic = await waitFor(() => hooks.find((h) => h.path === '/generic'), {
      description: 'the procurement-managers webhook',
    });
    expect(generic.body).toMatchObject({
      event: 'approval.requested',
      request: { tool: 'transfer_funds' },
    });
    const page = await browser!.context.newPage();
    await page.goto(String(generic.body.url));
    expect(await page.textContent('h2 .tool')).toBe('transfer_funds');
    await page.close();
  });

  it('approves the $310 invoice from its page with the keyboard, and the transfer runs', async () => {
    const transfer = (await rows(lee)).find((r) => r.tool === 'transfer_funds')!;
    await open(lee, `/requests/${transfer.id}`);
    expect(await lee.textContent('#arguments')).toContain('310');
    expect(await lee.textContent('#task-input')).toContain('INV-1003');
    expect(await lee.textContent('#policy-reason')).not.toBe('');
    await lee.screenshot({ path: screenshotPath(dir, 'request.png'), fullPage: true });
    await lee.keyboard.press('a');
    await waitFor(async () => (await lee.textContent('#toast'))?.includes('approve: accepted'), {
      description: 'the approval to be accepted',
    });
    await waitFor(
      () => /procurement\.pay-small-invoice\s+ran\s+transfer_funds succeeded/.test(output()),
      { timeoutMs: 60_000, description: 'the transfer to run' },
    );
  });

  it('refuses to reject without feedback, then rejects the refund with it; the planner gets it', async () => {
    await open(lee, `/`);
    const [refund] = await waitForRows(lee, 'the refunds', (list) =>
      list.some((r) => r.tool === 'issue_refund'),
    );
    await open(lee, `/requests/${refund!.id}`);
    await lee.click('#reject');
    expect(await lee.textContent('#toast')).toContain('Feedback is required');
    const feedback = 'Order O-5001 was delivered on 12 May; no refund.';
    await lee.fill('#feedback', feedback);
    await lee.click('#reject');
    await waitFor(async () => (await lee.textContent('#toast'))?.includes('reject: accepted'), {
      description: 'the rejection to be accepted',
    });
    // The planner read the feedback as an observation: the task's result quotes it.
    await waitFor(
      () =>
        /support\.refund-over-threshold\s+result: The refund of O-5001 was not issued: .*rejected issue_refund: Order O-5001 was delivered on/.test(
          output(),
        ),
      { timeoutMs: 60_000, description: "the planner to hear the reviewer's feedback" },
    );
  });

  let editedRefund: { id: string; taskId: string } | undefined;
  it("edits a refund's amount with a diff; the new proposal goes through policy and back to a person", async () => {
    await open(lee, `/`);
    const [refund] = await waitForRows(lee, 'the remaining refund', (list) =>
      list.some((r) => r.tool === 'issue_refund'),
    );
    await open(lee, `/requests/${refund!.id}`);
    await lee.keyboard.press('e');
    await lee.waitForSelector('#edit-form', { timeout: 5_000 }).catch(() => {
      throw new Error(`no edit form: ${pageErrors.join('; ')} ${String(lee.url())}`);
    });
    await lee.fill('#arg-amountUsd', '-5');
    expect(await lee.textContent('#arg-amountUsd-error')).toMatch(/more than 0/);
    expect(await lee.isDisabled('#send-edit')).toBe(true);
    await lee.fill('#arg-amountUsd', '150');
    expect(await lee.textContent('#edit-diff')).toMatch(/amountUsd\s*240\s*150/);
    await lee.click('#send-edit');
    await waitFor(async () => (await lee.textContent('#toast'))?.includes('edit: accepted'), {
      description: 'the edit to be accepted',
    });
    await open(lee, `/`);
    // $150 is still over the $100 threshold: policy sends the new proposal to a person again.
    const [edited] = (
      await waitForRows(lee, 'the edited refund back in the queue', (list) =>
        list.some((r) => r.amount === '$150.00' && r.id !== refund!.id),
      )
    ).filter((r) => r.amount === '$150.00');
    const { taskId } = (await lee.evaluate(
      (id) => fetch(`/api/requests/${id}`).then((r) => r.json()),
      edited!.id,
    )) as { taskId: string };
    editedRefund = { id: edited!.id, taskId };
    const task = taskId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // The edit is a new proposal, and the policy decides it after the edit (not only before).
    expect(output()).toMatch(
      new RegExp(
        `${task}\\s+step \\d+\\s+proposes issue_refund \\{[^\\n]*"amountUsd":150[^\\n]*\\(a reviewer edit\\)` +
          `[\\s\\S]*${task}\\s+policy\\s+sends issue_refund to a person`,
      ),
    );
  });

  it("takes a killed task's request off the open page", async () => {
    const edited = editedRefund!;
    const killed = await runLeash(
      ['kill', '--task', edited.taskId, '--reason', 'inbox drill'],
      env,
    );
    expect(killed.code).toBe(0);
    await waitForRows(
      lee,
      'the killed request to go',
      (list) => !list.some((r) => r.id === edited.id),
    );
  });

  /** Submits the refund scenario from the CLI; resolves with the new request's approval id. */
  async function newRefund(): Promise<string> {
    const before = new Set((await rows(lee)).map((r) => r.id));
    const submitted = await runLeash(
      ['task', 'submit', '--scenario', 'support.refund-over-threshold', '--tenant', 'demo'],
      env,
    );
    expect(submitted.code).toBe(0);
    const list = await waitForRows(lee, 'a new refund', (l) =>
      l.some((r) => r.tool === 'issue_refund' && !before.has(r.id)),
    );
    return list.find((r) => r.tool === 'issue_refund' && !before.has(r.id))!.id;
  }

  it('closes an open request page live when another reviewer answers it from the CLI', async () => {
    await open(lee, `/`);
    const id = await newRefund();
    await open(lee, `/requests/${id}`);
    expect(await lee.isHidden('#closed')).toBe(true);
    const approved = await runLeash(
      ['approvals', 'approve', id, '--reviewer', 'ana.support-leads'],
      env,
    );
    expect(approved.code).toBe(0);
    await lee.waitForSelector('#closed:not([hidden])');
    expect(await lee.textContent('#closed')).toMatch(
      /No longer waiting: this request is authorized/,
    );
    expect(await lee.isDisabled('#approve')).toBe(true);
  });

  it('refuses an answer to a request that expired, and shows it is no longer waiting', async () => {
    // A release of the support agent whose approvals expire after 4 s.
    const file = join(dir, 'support-short-approvals.yaml');
    writeFileSync(
      file,
      'description: approvals expire fast (inbox e2e)\napprovals:\n  chain: [support-leads]\n  ttlMs: 4000\n',
    );
    const created = await runLeash(
      ['release', 'create', '--agent', 'support', '--file', file],
      env,
    );
    expect(created.stderr).toBe('');
    const version = /support@(\d+)/.exec(created.stdout)![1]!;
    const promoted = await runLeash(
      ['release', 'promote', `support@${version}`, '--full', '--force', '--reason', 'inbox e2e'],
      env,
    );
    expect(promoted.code).toBe(0);
    await open(lee, `/`);
    const id = await newRefund();
    await open(lee, `/requests/${id}`);
    await waitFor(async () => (await lee.textContent('[data-expires]')) === 'expired', {
      description: 'the countdown to reach zero',
    });
    const answer = await postVerdict(lee, id, { verdict: 'approve' });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatch(/expired/);
    // The approvals service's sweeper denies it; the page says so and offers no answer.
    await lee.waitForSelector('#closed:not([hidden])', { timeout: 30_000 });
    expect(await lee.isDisabled('#approve')).toBe(true);
  }, 180_000);

  it('shows an outsider nothing of the group, and refuses their verdict posted to the API', async () => {
    const outsider = await signIn(await invite('out@demo.example', 'finance'));
    const ids = await waitFor(() => {
      const found = [
        ...output().matchAll(/approvals approve (apr_\w+) --reviewer ana\.it-service-desk/g),
      ];
      return found.length > 0 ? found.map((m) => m[1]!) : undefined;
    });
    expect(await rows(outsider)).toEqual([]);
    const posted = {
      withoutToken: await postVerdict(outsider, ids[0]!, { verdict: 'approve' }, ''),
      withToken: await postVerdict(outsider, ids[0]!, { verdict: 'approve' }),
    };
    expect(posted.withoutToken.status).toBe(403);
    expect(posted.withToken.status).toBe(404);
    // Naming another reviewer is not even expressible: the body is refused as it stands.
    const claim = await postVerdict(outsider, ids[0]!, {
      verdict: 'approve',
      reviewer: 'ana.it-service-desk',
    });
    expect(claim.status).toBe(400);
    const list = await runLeash(['approvals', 'list'], env);
    expect(list.stdout).toContain(ids[0]);
    await outsider.close();
  });

  it('ran every page without a script error', () => {
    expect(pageErrors).toEqual([]);
  });

  it('works at a phone width', async () => {
    await lee.setViewportSize({ width: 390, height: 844 });
    await open(lee, `/`);
    await lee.waitForFunction(() => document.getElementById('count')?.textContent !== '…');
    const overflow = await lee.evaluate(
      () => document.documentElement.scrollWidth > window.innerWidth,
    );
    expect(overflow).toBe(false);
  });
});
