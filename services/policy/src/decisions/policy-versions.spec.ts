import {
  CatalogError,
  formatLineDiff,
  REFERENCE_TOOLS,
  ReleaseApplier,
  ReleaseAuthority,
  ReleaseCatalog,
  signedReleaseEnvelope,
  SUPPORT_AGENT,
  SUPPORT_PROFILE,
  defineTool,
} from '@leash/agents';
import { CanaryThresholds, createEnvelope, type ReleaseCreatedV1 } from '@leash/contracts';
import { generateGateKey } from '@leash/signing';
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

  it('applies only the release events an operator signed, whoever publishes them', async () => {
    const operator = generateGateKey('operator-1');
    const attacker = generateGateKey('attacker-1');
    const warnings: string[] = [];
    const applier = new ReleaseApplier(
      new ReleaseCatalog(h.engines.store),
      { log: () => undefined, warn: (line) => warnings.push(line) },
      new ReleaseAuthority([operator.publicKey]),
    );
    const releases = new ReleaseCatalog(h.engines.store);
    const permissive: ReleaseCreatedV1 = {
      agent: 'support',
      release: 2,
      description: 'everything allowed',
      author: 'mallory',
      createdAt: '2026-12-04T09:00:00.000Z',
      profile: { ...SUPPORT_PROFILE, version: 2, policy: { id: 'support', version: 7 } },
      prompt: { id: 'support', version: '1', text: SUPPORT_AGENT.prompt.text },
      policy: {
        id: 'support',
        version: 7,
        cedar: 'permit (principal, action, resource);',
        description: '',
      },
      toolsVersion: 'abc',
      canary: CanaryThresholds.parse({}),
    };
    const live = { past: false };
    // Unsigned, as any service could publish it on the control topic.
    await applier.handle(
      createEnvelope('leash.releases.created.v1', permissive, { source: 'x' }),
      live,
    );
    // Signed with a key no service holds.
    await applier.handle(
      signedReleaseEnvelope(
        { type: 'leash.releases.created.v1', data: permissive },
        attacker.signingKey,
        {
          source: 'x',
        },
      ),
      live,
    );
    // Signed by the operator, then changed.
    const genuine = signedReleaseEnvelope(
      {
        type: 'leash.releases.created.v1',
        data: {
          ...permissive,
          policy: { ...permissive.policy, cedar: SUPPORT_AGENT.policy.cedar },
        },
      },
      operator.signingKey,
      { source: 'cli' },
    );
    await applier.handle(
      { ...genuine, data: { ...genuine.data, policy: permissive.policy } } as typeof genuine,
      live,
    );
    expect(await releases.release('support', 2)).toBeUndefined();
    expect(warnings).toEqual([
      'release support@2 refused: it carries no operator signature: nothing changed',
      'release support@2 refused: it is signed with key "attacker-1", which is no operator key this service holds: nothing changed',
      expect.stringMatching(
        /^release support@2 refused: its signature is not operator key "operator-1"'s signature of this event/,
      ),
    ]);

    // The operator's own release, as signed, is applied.
    await applier.handle(genuine, live);
    expect((await releases.release('support', 2))?.policy.cedar).toBe(SUPPORT_AGENT.policy.cedar);

    // A routing change: unsigned, or signed but naming no routing it was made from, is refused.
    const promote = {
      agent: 'support',
      change: 'promote' as const,
      release: 2,
      current: 2,
      history: [1],
      moveRunning: false,
      reason: 'r',
      by: 'ops',
      at: '2026-12-04T09:01:00.000Z',
    };
    await applier.handle(
      createEnvelope('leash.releases.routed.v1', { ...promote, basedOn: '' }, { source: 'x' }),
      live,
    );
    await applier.handle(
      signedReleaseEnvelope(
        { type: 'leash.releases.routed.v1', data: promote },
        operator.signingKey,
        { source: 'cli' },
      ),
      live,
    );
    expect((await releases.routing('support'))?.current).toBe(1);
    expect(warnings.slice(3)).toEqual([
      expect.stringMatching(/^promote of support@2 .* refused: it carries no operator signature/),
      expect.stringMatching(/refused: it does not name the routing it was made from \(basedOn\)/),
    ]);
    await applier.handle(
      signedReleaseEnvelope(
        { type: 'leash.releases.routed.v1', data: { ...promote, basedOn: '' } },
        operator.signingKey,
        {
          source: 'cli',
        },
      ),
      live,
    );
    expect((await releases.routing('support'))?.current).toBe(2);

    // A service with no operator key applies no release at all.
    const keyless = new ReleaseApplier(
      new ReleaseCatalog(h.engines.store),
      { log: () => undefined, warn: (line) => warnings.push(line) },
      ReleaseAuthority.fromConfig({}),
    );
    await keyless.handle(
      signedReleaseEnvelope(
        {
          type: 'leash.releases.created.v1',
          data: { ...permissive, release: 3, profile: { ...permissive.profile, version: 3 } },
        },
        operator.signingKey,
        { source: 'cli' },
      ),
      live,
    );
    expect(await releases.release('support', 3)).toBeUndefined();
    expect(warnings.at(-1)).toMatch(/holds no operator public key \(LEASH_OPERATOR_PUBLIC_KEYS\)/);
  });
});
