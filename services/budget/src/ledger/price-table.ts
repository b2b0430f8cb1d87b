/*
 * The price table lives in @leash/config, shared with the planner (which
 * prices the usage it records); re-exported so the ledger's imports stay put.
 */
export {
  modelPrice,
  parsePriceTable,
  priceFor,
  priceOf,
  type ModelPrice,
  type PriceTable,
  type TokenCount,
} from '@leash/config';
