export * from './agent-catalog';
export * from './catalog.aggregates';
export * from './line-diff';
export * from './catalog-seed';
