import type { EventPublisher } from '@leash/bus';
import { loadConfig } from '@leash/config';
import { createEnvelope } from '@leash/contracts';
import { POLICY_ENV } from '../config';
import { AcknowledgeCommandUseCase } from './acknowledge-command.usecase';

describe('AcknowledgeCommandUseCase (policy)', () => {
  const config = loadConfig(POLICY_ENV, { env: { LEASH_INSTANCE_ID: 'policy-1' } });
  const emit = jest.fn().mockResolvedValue(undefined);
  const useCase = new AcknowledgeCommandUseCase({ emit } as unknown as EventPublisher, config);

  it('acknowledges a kill as this service and instance, with a stable event id', async () => {
    const kill = createEnvelope(
      'leash.control.kill.v1',
      {
        commandId: 'cmd-1',
        scope: { kind: 'all' },
        reason: 'runaway agent',
        issuedBy: 'oncall',
        issuedAt: new Date().toISOString(),
      },
      { source: 'cli' },
    );
    await useCase.execute(kill);
    expect(emit).toHaveBeenCalledWith(
      'leash.control.ack.v1',
      expect.objectContaining({
        commandId: 'cmd-1',
        command: 'kill',
        service: 'policy',
        instance: 'policy-1',
        aborted: 0,
      }),
      { id: `ack:${kill.id}:policy:policy-1` },
    );
  });

  it('acknowledges a resume as a resume', async () => {
    const resume = createEnvelope(
      'leash.control.resume.v1',
      {
        commandId: 'cmd-2',
        scope: { kind: 'tenant', tenantId: 't1' },
        reason: 'fixed',
        issuedBy: 'oncall',
        issuedAt: new Date().toISOString(),
      },
      { source: 'cli' },
    );
    await useCase.execute(resume);
    expect(emit.mock.calls[0][1]).toMatchObject({ commandId: 'cmd-2', command: 'resume' });
  });
});
