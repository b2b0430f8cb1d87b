/** Charge what is past its deadline now; `limit` bounds one pass so a backlog is worked off in slices. */
export interface ChargeExpiredReservationsCommand {
  readonly limit?: number;
}
