export * from './variables';
export * from './env-spec';
export * from './base.env';
export * from './tracing.env';
export * from './log-level';
export * from './signing.env';
export * from './model-prices.env';
