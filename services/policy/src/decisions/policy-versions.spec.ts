import {
  CatalogError,
  formatLineDiff,
  REFERENCE_TOOLS,
  ReleaseCatalog,
  SUPPORT_AGENT,
  SUPPORT_PROFILE,
  defineTool,
} from '@leash/agents';
import { CanaryThresholds } from '@leash/contracts';
import { z } from 'zod';
import { openPolicyHarness, type PolicyHarness } from './test/policy-harness';

/** The store-backed catalog as the policy gate uses it: versions, diffs, rollbacks, seeding. */
describe('policy versions in the catalog', () => {
  let h: PolicyHarness;

  beforeEach(async () => {
    h = await openPolicyHarness();
  });

  afterEach(async () => {
    await h.close();
  });

  it('publishes a new version as current, keeps every version, and rolls back in one call', async () => {
    const catalog = h.gate.catalog;
    const v1 = (await catalog.policy('support'))!;
    expect(v1).toMatchObject({ version: 1, author: 'seed' });
    const v2 = await catalog.publishPolicy({
      policyId: 'support',
      cedar: `${v1.cedar}\n@id("extra")\npermit (principal, action == Action::"draft_email", resource);\n`,
      author: 'alice',
      description: 'drafts always',
    });
    expect(v2.version).toBe(2);
    expect(await catalog.currentPolicyVersion('support')).toBe(2);
    await catalog.makePolicyCurrent('support', 1, 'bob');
    expect((await catalog.policy('support'))!.version).toBe(1);
    // Versions go on counting after a rollback: a new one never reuses a number.
    const v3 = await catalog.publishPolicy({
      policyId: 'support',
      cedar: v1.cedar,
      author: 'carol',
    });
    expect(v3.version).toBe(3);
    expect((await catalog.policyVersions('support')).map((p) => [p.version, p.author])).toEqual([
      [1, 'seed'],
      [2, 'alice'],
      [3, 'carol'],
    ]);
    await expect(catalog.makePolicyCurrent('support', 9, 'bob')).rejects.toThrow(
      'policy support has no version 9',
    );
  });

  it('shows the line diff of a candidate or a stored version against the current one', async () => {
    const catalog = h.gate.catalog;
    const current = (await catalog.policy('procurement'))!.cedar;
    const candidate = current.replace('decimal("10000.00")', 'decimal("5000.00")');
    const diff = await catalog.diffPolicy('procurement', candidate);
    expect(diff).toMatchObject({ added: 1, removed: 1 });
    expect(formatLineDiff(diff, 0)).toBe(
      [
        '...',
        '- when { context.amount.greaterThan(decimal("10000.00")) };',
        '+ when { context.amount.greaterThan(decimal("5000.00")) };',
        '...',
      ].join('\n'),
    );
    await catalog.publishPolicy({ policyId: 'procurement', cedar: candidate, author: 'alice' });
    expect((await catalog.diffPolicy('procurement', { version: 1 })).added).toBe(1);
    expect((await catalog.diffPolicy('procurement', { version: 2 })).unchanged).toBe(true);
  });

  it('refuses to publish a policy that does not parse, naming the problem', async () => {
    const publish = h.gate.catalog.publishPolicy({
      policyId: 'support',
      cedar: '@id("x") @route("soon") permit (principal, action, resource);',
      author: 'alice',
    });
    await expect(publish).rejects.toBeInstanceOf(CatalogError);
    await expect(publish).rejects.toThrow('x: @route must be "approve" or "allow"');
    expect(await h.gate.catalog.currentPolicyVersion('support')).toBe(1);
  });

  it('seeds idempotently and leaves an operator’s versions and rollbacks alone', async () => {
    const catalog = h.gate.catalog;
    await catalog.publishPolicy({
      policyId: 'support',
      cedar: '@id("a") permit (principal, action, resource);',
      author: 'ops',
    });
    await catalog.publishProfile({ ...SUPPORT_PROFILE, version: 2, maxSteps: 5 }, 'ops');
    expect(await h.gate.seedReferenceAgents()).toEqual({ profiles: [], policies: [], tools: [] });
    expect(await catalog.currentPolicyVersion('support')).toBe(2);
    expect((await catalog.profile('support'))!.version).toBe(2);
    expect((await catalog.profile('support', 1))!.maxSteps).toBe(20);
    expect(await catalog.toolSnapshot('issue_refund', 1)).toMatchObject({
      riskClass: 'write',
      amountField: 'amountUsd',
    });
  });

  it('keeps profile versions immutable and rolls a profile back', async () => {
    const catalog = h.gate.catalog;
    await expect(
      catalog.publishProfile({ ...SUPPORT_PROFILE, maxSteps: 99 }, 'ops'),
    ).rejects.toThrow('profile support v1 exists with different content');
    await catalog.publishProfile({ ...SUPPORT_PROFILE, version: 2, maxSteps: 5 }, 'ops');
    await catalog.makeProfileCurrent('support', 1, 'ops');
    expect((await catalog.profile('support'))!.version).toBe(1);
    expect((await catalog.profileVersions('support')).map((p) => p.version)).toEqual([1, 2]);
  });

  it('refuses a tool definition that changed without a version bump', async () => {
    const original = REFERENCE_TOOLS.tool('search_kb')!;
    const changed = defineTool({
      name: original.name,
      version: original.version,
      description: original.description,
      parameters: z.object({ query: z.string().describe('what to find') }),
      riskClass: original.riskClass,
      actionClass: original.actionClass,
      idempotent: original.idempotent,
    });
    await expect(h.gate.catalog.recordTools([changed])).rejects.toThrow(
      'search_kb v1 changed since it was recorded: bump its version',
    );
    await expect(
      h.gate.catalog.recordTools([defineTool({ ...changed, version: 2 })]),
    ).resolves.toMatch(/^[0-9a-f]{12}$/);
  });

  it('waits for a release it has not applied yet (transient), and finds it once applied', async () => {
    const catalog = h.gate.catalog;
    await expect(catalog.profile('support', 2)).rejects.toMatchObject({
      name: 'ReleaseNotYetKnownError',
      transient: true,
    });
    // An agent it never heard of, or a version it passed, is unknown: the gate fails closed.
    expect(await catalog.profile('nobody', 1)).toBeUndefined();
    const applied = await new ReleaseCatalog(h.engines.store).applyCreated({
      agent: 'support',
      release: 2,
      parent: 1,
      description: 'release 2',
      author: 'ops',
      createdAt: '2026-03-01T12:00:00.000Z',
      profile: { ...SUPPORT_PROFILE, version: 2, policy: { id: 'support', version: 1 } },
      prompt: { id: 'support', version: '1', text: SUPPORT_AGENT.prompt.text },
      policy: { id: 'support', version: 1, cedar: SUPPORT_AGENT.policy.cedar, description: '' },
      toolsVersion: 'abc',
      canary: CanaryThresholds.parse({}),
    });
    expect(applied).toEqual({ outcome: 'applied' });
    expect(await catalog.profile('support', 2)).toMatchObject({ version: 2 });
  });

  it('refuses a routing change made from a routing that has changed since', async () => {
    const releases = new ReleaseCatalog(h.engines.store);
    const change = (at: string, basedOn: string, current: number) => ({
      agent: 'it-helpdesk',
      change: 'rollback' as const,
      release: 1,
      current,
      history: [],
      moveRunning: false,
      reason: 'r',
      by: 'ops',
      at,
      basedOn,
    });
    const first = change('2026-03-01T12:00:01.000Z', '', 1);
    expect(await releases.applyRouted(first)).toEqual({ outcome: 'applied' });
    // Made from the seeded routing too, but after the first: stale.
    const stale = await releases.applyRouted(change('2026-03-01T12:00:02.000Z', '', 1));
    expect(stale).toMatchObject({
      outcome: 'refused',
      reason: expect.stringMatching(/changed since/),
    });
    expect(await releases.applyRouted(first)).toEqual({ outcome: 'unchanged' });
    expect(await releases.applyRouted(change('2026-03-01T12:00:03.000Z', first.at, 1))).toEqual({
      outcome: 'applied',
    });
    // An automatic rollback may only stop a running canary, never move the current release.
    const moved = await releases.applyRouted({
      ...change('2026-03-01T12:00:04.000Z', '2026-03-01T12:00:03.000Z', 1),
      change: 'auto-rollback',
    });
    expect(moved).toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/only stop/) });
  });
});
