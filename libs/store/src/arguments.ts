import type { AnyAggregate } from './aggregate';
import { StoreError } from './errors';

/** The checks of a repository call's arguments every adapter makes, with the same errors. */

export function checkId(aggregate: AnyAggregate, id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new StoreError(`${aggregate.name}: id must be a non-empty string`);
  }
  return id;
}

export function checkVersion(aggregate: AnyAggregate, version: unknown): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new StoreError(`${aggregate.name}: expectedVersion must be a positive integer`);
  }
  return version;
}
