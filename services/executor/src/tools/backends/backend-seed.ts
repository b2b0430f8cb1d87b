import type { z } from 'zod';
import type {
  Customer,
  CustomerOrder,
  DirectoryUser,
  InventoryItem,
  Invoice,
  KbArticle,
} from './backend.aggregates';

/*
 * The fixed starting state of the simulated backends. Seeding is
 * deterministic (no clock, no randomness) so a golden run reads the same
 * knowledge base and inventory every time.
 */

type DocIn<A extends { schema: z.ZodType }> = z.input<A['schema']>;

/** What install_software accepts; the it-helpdesk policy names the same list. */
export const APPROVED_SOFTWARE = [
  'slack',
  'zoom',
  'vscode',
  '1password',
  'chrome',
  'firefox',
  'office365',
] as const;

export const SEED_KB_ARTICLES: readonly DocIn<typeof KbArticle>[] = [
  {
    articleId: 'KB-001',
    title: 'Connecting to the VPN',
    body: 'Open the VPN client, choose "acme-corp", sign in with your SSO account. If it fails with error 809, restart the client.',
    tags: ['vpn', 'network', 'remote'],
  },
  {
    articleId: 'KB-002',
    title: 'Resetting your password',
    body: 'Use the self-service portal at https://id.acme.example. If you are locked out, the helpdesk can send a one-time reset link.',
    tags: ['password', 'account', 'login'],
  },
  {
    articleId: 'KB-003',
    title: 'Printer shows "offline"',
    body: 'Check the printer is on the office Wi-Fi, then remove and re-add it under Settings > Printers.',
    tags: ['printer', 'hardware'],
  },
  {
    articleId: 'KB-004',
    title: 'Requesting software',
    body: 'Approved software (slack, zoom, vscode, 1password, chrome, firefox, office365) can be installed by the helpdesk after IT approval.',
    tags: ['software', 'install'],
  },
  {
    articleId: 'KB-005',
    title: 'Email on your phone',
    body: 'Install Outlook from the app store and sign in with your work address; approve the device in the SSO prompt.',
    tags: ['email', 'mobile'],
  },
  {
    articleId: 'KB-006',
    title: 'Wi-Fi keeps disconnecting',
    body: 'Forget the "acme" network and reconnect; if it persists, open a ticket with your device id.',
    tags: ['wifi', 'network'],
  },
];

export const SEED_DIRECTORY_USERS: readonly DocIn<typeof DirectoryUser>[] = [
  { email: 'alice@acme.example', name: 'Alice Martin', department: 'sales' },
  { email: 'bob@acme.example', name: 'Bob Chen', department: 'engineering' },
  { email: 'dana@acme.example', name: 'Dana Ruiz', department: 'finance' },
  { email: 'ceo@acme.example', name: 'Erin Park', department: 'executive' },
  { email: 'cfo@acme.example', name: 'Farid Haddad', department: 'executive' },
];

export const SEED_INVENTORY: readonly DocIn<typeof InventoryItem>[] = [
  {
    sku: 'PAPER-A4',
    name: 'A4 paper, box of 5 reams',
    location: 'WH-1',
    onHand: 12,
    reorderPoint: 50,
    onOrder: 0,
    supplierId: 'SUP-OFFICE',
    unitPriceUsd: 24.5,
  },
  {
    sku: 'TONER-X1',
    name: 'Toner cartridge X1',
    location: 'WH-1',
    onHand: 3,
    reorderPoint: 10,
    onOrder: 0,
    supplierId: 'SUP-OFFICE',
    unitPriceUsd: 89,
  },
  {
    sku: 'BOLT-M6',
    name: 'M6 bolts, bag of 100',
    location: 'WH-2',
    onHand: 400,
    reorderPoint: 100,
    onOrder: 0,
    supplierId: 'SUP-HARDWARE',
    unitPriceUsd: 7.25,
  },
  {
    sku: 'CHAIR-ERGO',
    name: 'Ergonomic office chair',
    location: 'WH-2',
    onHand: 4,
    reorderPoint: 5,
    onOrder: 0,
    supplierId: 'SUP-FURNITURE',
    unitPriceUsd: 310,
  },
  {
    sku: 'LAPTOP-14',
    name: '14-inch laptop',
    location: 'WH-1',
    onHand: 20,
    reorderPoint: 8,
    onOrder: 0,
    supplierId: 'SUP-HARDWARE',
    unitPriceUsd: 1_250,
  },
];

export const SEED_INVOICES: readonly DocIn<typeof Invoice>[] = [
  { invoiceId: 'INV-1001', supplierId: 'SUP-OFFICE', amountUsd: 1_225, status: 'open' },
  { invoiceId: 'INV-1002', supplierId: 'SUP-HARDWARE', amountUsd: 7_250, status: 'open' },
  { invoiceId: 'INV-1003', supplierId: 'SUP-FURNITURE', amountUsd: 310, status: 'open' },
];

export const SEED_CUSTOMERS: readonly DocIn<typeof Customer>[] = [
  { customerId: 'C-1042', email: 'jane@example.com', name: 'Jane Doe' },
  { customerId: 'C-1043', email: 'omar@example.org', name: 'Omar Said' },
  { customerId: 'C-1044', email: 'li@acme.example', name: 'Li Wei' },
];

export const SEED_CUSTOMER_ORDERS: readonly DocIn<typeof CustomerOrder>[] = [
  {
    orderId: 'O-5001',
    customerId: 'C-1042',
    item: 'Noise-cancelling headphones',
    paidUsd: 240,
    refundedUsd: 0,
    placedAt: '2026-01-10T09:30:00.000Z',
  },
  {
    orderId: 'O-5002',
    customerId: 'C-1042',
    item: 'USB-C cable',
    paidUsd: 19.99,
    refundedUsd: 0,
    placedAt: '2026-01-12T14:05:00.000Z',
  },
  {
    orderId: 'O-5003',
    customerId: 'C-1043',
    item: 'Standing desk',
    paidUsd: 980,
    refundedUsd: 0,
    placedAt: '2026-01-03T11:00:00.000Z',
  },
  {
    orderId: 'O-5004',
    customerId: 'C-1044',
    item: 'Webcam',
    paidUsd: 85,
    refundedUsd: 0,
    placedAt: '2026-01-15T16:45:00.000Z',
  },
];
