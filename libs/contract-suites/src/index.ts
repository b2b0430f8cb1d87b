export * from './bus-contract.suite';
export * from './store-contract.suite';
