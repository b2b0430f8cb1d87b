import { UsageError } from './arguments';
import { parseTenantCommand } from './tenant.command';

const defaults = { issuedBy: 'ana@laptop' };

describe('leash tenant time-zone: arguments', () => {
  it('names the operator: --by, else user@host', () => {
    expect(parseTenantCommand(['time-zone', 'acme', 'Europe/Berlin'], defaults)).toEqual({
      kind: 'tenant-time-zone',
      tenantId: 'acme',
      timeZone: 'Europe/Berlin',
      changedBy: 'ana@laptop',
    });
    expect(
      parseTenantCommand(['time-zone', 'acme', 'Etc/GMT+12', '--by', 'oncall'], defaults),
    ).toMatchObject({ changedBy: 'oncall' });
  });

  it('refuses what it cannot run', () => {
    for (const argv of [
      ['zone', 'acme', 'UTC'],
      ['time-zone', 'acme'],
      ['time-zone', 'acme', 'UTC', 'extra'],
      ['time-zone', 'acme', 'UTC', '--by', ' '],
    ]) {
      expect(() => parseTenantCommand(argv, defaults)).toThrow(UsageError);
    }
    expect(parseTenantCommand(['--help'], defaults)).toEqual({ kind: 'help', topic: 'tenant' });
  });
});
