import { IntervalSweeper, type IntervalSweeperOptions } from '@leash/clock';
import type { ChargeExpiredReservationsUseCase } from './charge-expired-reservations.usecase';

export type ReservationSweeperOptions = IntervalSweeperOptions<number>;

/** Charges reservations never settled by their deadline, on an interval. */
export class ReservationSweeper extends IntervalSweeper<number> {
  constructor(charge: ChargeExpiredReservationsUseCase, options: ReservationSweeperOptions) {
    super(() => charge.execute(), options);
  }
}
