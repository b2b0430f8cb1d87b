import type { ScenarioFixtures } from '@leash/agents';
import {
  Customer,
  CustomerOrder,
  insertMissing,
  InventoryItem,
  Invoice,
  KbArticle,
} from '@leash/service-executor';
import type { Store } from '@leash/store';

/**
 * Writes scenarios' extra backend state (a bad inventory feed, an article,
 * an invoice, a customer and their orders) where it is missing; safe to repeat.
 */
export async function applyFixtures(
  store: Store,
  fixtures: readonly (ScenarioFixtures | undefined)[],
): Promise<void> {
  const present = fixtures.filter((fixture): fixture is ScenarioFixtures => !!fixture);
  const inventory = present.flatMap((fixture) => fixture.inventory ?? []);
  const articles = present.flatMap((fixture) => fixture.kbArticles ?? []);
  const invoices = present.flatMap((fixture) => fixture.invoices ?? []);
  const customers = present.flatMap((fixture) => fixture.customers ?? []);
  if (inventory.length + articles.length + invoices.length + customers.length === 0) return;
  await store.transaction(async (tx) => {
    await insertMissing(tx, InventoryItem, inventory);
    await insertMissing(
      tx,
      KbArticle,
      articles.map((article) => ({ ...article, tags: [...article.tags] })),
    );
    await insertMissing(
      tx,
      Invoice,
      invoices.map((invoice) => ({ ...invoice, status: 'open' as const })),
    );
    await insertMissing(
      tx,
      Customer,
      customers.map(({ customerId, email, name }) => ({ customerId, email, name })),
    );
    await insertMissing(
      tx,
      CustomerOrder,
      customers.flatMap((customer) =>
        customer.orders.map((order) => ({
          ...order,
          customerId: customer.customerId,
          refundedUsd: 0,
        })),
      ),
    );
  });
}
