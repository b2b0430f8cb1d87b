import { CanaryThresholds } from '@leash/contracts';
import { SUPPORT_AGENT } from '../reference';
import type { ReleaseView } from './release-catalog';
import { diffReleases, renderReleaseDiff } from './release-diff';

const base: ReleaseView = {
  agent: 'support',
  release: 1,
  description: '',
  author: 'seed',
  createdAt: '2026-12-01T00:00:00.000Z',
  profile: SUPPORT_AGENT.profile,
  prompt: { id: 'support', version: '1', text: 'line one\nline two\n' },
  policy: { id: 'support', version: 1, cedar: 'permit (principal, action, resource);\n' },
  toolsVersion: 'aaaaaaaaaaaa',
  canary: CanaryThresholds.parse({}),
  seeded: true,
};

describe('release diff', () => {
  it('finds no difference between a release and itself', () => {
    const diff = diffReleases(base, base);
    expect(diff.unchanged).toBe(true);
    expect(renderReleaseDiff('support', diff)).toEqual([
      'support: release 1 -> 1',
      '  no difference',
    ]);
  });

  it('shows the prompt and policy line by line, the model, the tools and each changed cap', () => {
    const next: ReleaseView = {
      ...base,
      release: 2,
      profile: {
        ...base.profile,
        model: 'gpt-4o',
        tools: base.profile.tools.filter((t) => t !== 'send_email'),
        caps: { ...base.profile.caps, tenantDay: { ...base.profile.caps.tenantDay, usd: 20 } },
      },
      prompt: { id: 'support', version: '2', text: 'line one\nline 2\n' },
      policy: {
        id: 'support',
        version: 2,
        cedar: 'forbid (principal, action, resource);\n',
      },
      toolsVersion: 'bbbbbbbbbbbb',
    };
    const lines = renderReleaseDiff('support', diffReleases(base, next));
    expect(lines).toEqual([
      'support: release 1 -> 2',
      'model: gpt-4o-mini -> gpt-4o',
      'prompt: support v1 -> support v2 (+1 -1 lines)',
      '  - line two',
      '  + line 2',
      'policy: support v1 -> support v2 (+1 -1 lines)',
      '  - permit (principal, action, resource);',
      '  + forbid (principal, action, resource);',
      'tools: aaaaaaaaaaaa -> bbbbbbbbbbbb',
      '  - send_email',
      'caps.tenantDay.usd: 50 -> 20',
    ]);
  });
});
