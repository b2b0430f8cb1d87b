import { IntervalSweeper, type IntervalSweeperOptions } from '@leash/clock';
import type { EnforceDeadlinesUseCase } from './enforce-deadlines.usecase';

export type DeadlineSweeperOptions = IntervalSweeperOptions<string[]>;

/** Ends tasks past their wall-clock deadline, on an interval; resolves with the task ids it ended. */
export class DeadlineSweeper extends IntervalSweeper<string[]> {
  constructor(enforce: EnforceDeadlinesUseCase, options: DeadlineSweeperOptions) {
    super(() => enforce.execute(), options);
  }
}
