export { bootstrapBudget } from './budget.app';
export { BUDGET, BUDGET_ENV, type BudgetConfig } from './config';
export * from './ledger';
