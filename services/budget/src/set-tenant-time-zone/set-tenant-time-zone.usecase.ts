import { isTimeZone } from '../ledger/day-key';
import { TenantSettings } from '../ledger/ledger.aggregates';
import type { LedgerDeps } from '../ledger/ledger';
import type { SetTenantTimeZoneCommand } from './set-tenant-time-zone.command';

/**
 * Sets where a tenant's day starts. It applies from the next request: the
 * current day's counter keeps the spend already booked on it.
 */
export class SetTenantTimeZoneUseCase {
  constructor(private readonly deps: Pick<LedgerDeps, 'store'>) {}

  async execute({ tenantId, timeZone }: SetTenantTimeZoneCommand): Promise<void> {
    if (!isTimeZone(timeZone)) {
      throw new RangeError(`"${timeZone}" is not an IANA time zone (e.g. Europe/Berlin)`);
    }
    await this.deps.store.repository(TenantSettings).upsert({ tenantId, timeZone });
  }
}
