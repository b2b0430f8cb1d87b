/*
 * The budget ledger's public surface: what the service module, the benchmark
 * (bench/gates.bench.ts) and tests build on.
 */
export * from './budget-rules';
export * from './budget.config';
export * from './day-key';
export * from './ledger';
export * from './ledger-book';
export * from './ledger.aggregates';
export * from './ledger.factory';
export * from './ledger.module';
export * from './price-table';
export { actionRequestId } from '../fund-decided-action/fund-decided-action.usecase';
export { ReservationSweeper } from '../charge-expired-reservations/reservation-sweeper';
export * from '../set-tenant-time-zone/set-tenant-time-zone.usecase';
export type { SetTenantTimeZoneCommand } from '../set-tenant-time-zone/set-tenant-time-zone.command';
