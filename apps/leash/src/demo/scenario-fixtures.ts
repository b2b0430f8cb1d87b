import type { ScenarioFixtures } from '@leash/agents';
import { InventoryItem } from '@leash/service-executor';
import type { Store } from '@leash/store';

/** Writes scenarios' extra backend state (e.g. a bad inventory feed) where it is missing; safe to repeat. */
export async function applyFixtures(
  store: Store,
  fixtures: readonly (ScenarioFixtures | undefined)[],
): Promise<void> {
  const items = fixtures.flatMap((fixture) => fixture?.inventory ?? []);
  if (items.length === 0) return;
  await store.transaction(async (tx) => {
    const inventory = tx.repository(InventoryItem);
    for (const item of items) {
      if (!(await inventory.get(item.sku))) await inventory.insert(item);
    }
  });
}
