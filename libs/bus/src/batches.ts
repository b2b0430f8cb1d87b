import type { BatchHandler, RecordHandler } from './bus.port';

/** A per-record handler as a batch handler over batches of one: how a transport's consume runs on consumeBatches. */
export function oneRecordAtATime(handler: RecordHandler): BatchHandler {
  return (records, controls) => handler(records[0]!, controls);
}

/** Refuses a batch bound that is not a whole number from 1. */
export function checkMaxRecords(maxRecords: number): void {
  if (!(Number.isInteger(maxRecords) && maxRecords >= 1)) {
    throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`);
  }
}
