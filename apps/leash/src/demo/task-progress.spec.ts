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
