import { parseArgs } from 'node:util';
import type { Store } from '@leash/store';
import { UsageError } from './arguments';
import { visible, type Terminal } from './terminal';

/*
 * `leash tenant time-zone TENANT ZONE`: where a tenant's budget days start.
 * The change is the budget service's (its use case, on its store); the CLI
 * names the operator, so the audit log says who moved the tenant's midnight.
 */

export type TenantCommand =
  | { readonly kind: 'help'; readonly topic: 'tenant' }
  | {
      readonly kind: 'tenant-time-zone';
      readonly tenantId: string;
      readonly timeZone: string;
      readonly changedBy: string;
    };

export const TENANT_HELP = `leash tenant time-zone TENANT ZONE [--by NAME]

Sets the IANA time zone (e.g. Europe/Berlin) where TENANT's budget days
start. A change never opens a fresh day early: the day counting now keeps
counting until the later of its own end and the new zone's next midnight,
and only then are days counted in ZONE. The change is published on
budget.alarms and recorded in the audit log with who made it.

Options:
  --by NAME   who makes the change (default: user@host)

Exit codes: 0 changed or already so, 2 bad arguments or an unknown zone.
`;

export function parseTenantCommand(
  argv: readonly string[],
  defaults: { readonly issuedBy: string },
): TenantCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, by: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(`tenant: ${(error as Error).message.split('. ')[0]}`, 'tenant');
  }
  if (parsed.values.help) return { kind: 'help', topic: 'tenant' };
  const [sub, tenantId, timeZone, ...extra] = parsed.positionals;
  if (sub !== 'time-zone') {
    throw new UsageError(`tenant: unknown subcommand "${sub ?? ''}": use time-zone`, 'tenant');
  }
  if (!tenantId?.trim() || !timeZone?.trim()) {
    throw new UsageError('tenant time-zone needs a tenant and a zone', 'tenant');
  }
  if (extra.length > 0) throw new UsageError(`tenant: unexpected "${extra[0]}"`, 'tenant');
  const by = parsed.values.by?.trim();
  if (by === '') throw new UsageError('--by needs a name', 'tenant');
  return {
    kind: 'tenant-time-zone',
    tenantId: tenantId.trim(),
    timeZone: timeZone.trim(),
    changedBy: by ?? defaults.issuedBy,
  };
}

export async function runTenantCommand(
  command: Extract<TenantCommand, { kind: 'tenant-time-zone' }>,
  store: Store,
  terminal: Terminal,
): Promise<number> {
  // Loaded here, not at the top: every other command would pay for the budget service's modules.
  const { SetTenantTimeZoneUseCase } = await import('@leash/service-budget');
  const useCase = new SetTenantTimeZoneUseCase({ store, source: 'leash-cli' });
  let change;
  try {
    change = await useCase.execute(command);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    terminal.err(visible(`leash tenant time-zone: ${error.message}`));
    return 2;
  }
  terminal.out(
    visible(
      change
        ? `tenant ${command.tenantId}: days start in ${change.to} from ${change.effectiveAt}; ` +
            `until then day ${change.countingDay} (${change.from}) keeps counting. Changed by ${command.changedBy}.`
        : `tenant ${command.tenantId}: already on ${command.timeZone} (or changing to it); nothing changed`,
    ),
  );
  return 0;
}
