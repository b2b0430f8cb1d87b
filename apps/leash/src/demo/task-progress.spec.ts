import { createEnvelope } from '@leash/contracts';
import { describeEvent } from './task-progress';

const rejection = (reason: string, feedback: string) =>
  createEnvelope(
    'leash.actions.rejected.v1',
    {
      actionId: 'act-1',
      agent: { name: 'it-helpdesk', version: 1 },
      tool: 'reset_password',
      gate: 'approvals',
      code: 'approval_rejected',
      reason,
      feedback,
      versions: { profile: 1, prompt: 'p', model: 'm', policy: 1 },
    },
    { source: 'approvals', tenantId: 'demo', taskId: 'task-1' },
  );

describe('describeEvent: a reviewer rejection', () => {
  it('shows the feedback once when the reason quotes it', () => {
    const feedback = 'Never from a forwarded email.';
    const [line] = describeEvent(
      rejection(`reviewer ana rejected reset_password: ${feedback}`, feedback),
    );
    expect(line!.split(feedback)).toHaveLength(2);
    expect(line).not.toContain('Reviewer:');
  });

  it('adds the feedback where the reason was cut before it', () => {
    const feedback = 'Ask the user on the phone first.';
    const [line] = describeEvent(rejection(`${'x'.repeat(200)}: ${feedback}`, feedback));
    expect(line).toContain(`Reviewer: "${feedback}"`);
  });
});

describe('describeEvent: escape sequences in untrusted text', () => {
  const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
  const ESC_OSC_BEL = 'x\u001b[2K\u001b[1A\u001b]0;leash: done\u0007\u0007\u009b8m\u202ey';
  const shown = 'x\\x1b[2K\\x1b[1A\\x1b]0;leash: done\\x07\\x07\\x9b8m\\u202ey';

  it('shows the task input, tool output and planner reason visibly, colours or not', () => {
    const events = [
      createEnvelope(
        'leash.tasks.requested.v1',
        { agent: 'support', input: `refund ${ESC_OSC_BEL}` },
        { source: 'upstream', tenantId: 'demo', taskId: 'task-1' },
      ),
      createEnvelope(
        'leash.actions.completed.v1',
        {
          actionId: 'act-1',
          agent: { name: 'support', version: 1 },
          tool: 'lookup_customer',
          status: 'succeeded',
          output: `found ${ESC_OSC_BEL}`,
          durationMs: 3,
          attempts: 1,
          completedAt: '2026-01-01T00:00:00.000Z',
        },
        { source: 'executor', tenantId: 'demo', taskId: 'task-1' },
      ),
      rejection(`denied: ${ESC_OSC_BEL}`, ESC_OSC_BEL),
    ];
    for (const event of events) {
      const plain = describeEvent(event as never);
      expect(plain.join('\n')).toContain(shown);
      for (const line of plain) expect(line).not.toMatch(UNSAFE);
      // With colours on, the only escape sequences are the tag's own.
      for (const line of describeEvent(event as never, { color: true })) {
        expect(line.replace(/\u001b\[(?:3[129]|2|22)m/g, '')).not.toMatch(UNSAFE);
      }
    }
  });
});

describe('describeEvent: a verdict', () => {
  const sent = createEnvelope(
    'leash.approvals.decided.v1',
    { verdict: 'approve', approvalId: 'apv-1', actionHash: 'a'.repeat(64), reviewer: 'mallory' },
    { source: 'leash-cli', tenantId: 'demo', taskId: 'task-1' },
  );
  const recorded = (outcome: 'accepted' | 'refused', reason: string) =>
    createEnvelope(
      'leash.approvals.verdict_recorded.v1',
      {
        approvalId: 'apv-1',
        verdictId: sent.id,
        reviewer: 'mallory',
        verdict: 'approve',
        outcome,
        ...(outcome === 'refused'
          ? { refusal: 'unknown_reviewer' as const }
          : { effect: 'counted' as const }),
        reason,
        tool: 'reset_password',
      },
      { source: 'approvals', tenantId: 'demo', taskId: 'task-1' },
    );

  it('does not print a sent verdict as if it counted', () => {
    const lines = describeEvent(sent);
    expect(lines.join('\n')).not.toMatch(/mallory: approve$/m);
    expect(lines.join('\n')).toContain('sent');
  });

  it('prints a refused verdict as refused, with the reason', () => {
    const [line, ...rest] = describeEvent(
      recorded('refused', 'mallory is not in the reviewer directory of tenant demo'),
    );
    expect(rest).toEqual([]);
    expect(line).toContain('REFUSED');
    expect(line).toContain('unknown_reviewer');
    expect(line).toContain('mallory is not in the reviewer directory of tenant demo');
  });

  it('prints an accepted verdict with what it did', () => {
    const [line] = describeEvent(recorded('accepted', 'approved by mallory (1 of 2)'));
    expect(line).toContain('mallory: approve accepted');
    expect(line).toContain('approved by mallory (1 of 2)');
    expect(line).not.toContain('REFUSED');
  });
});
