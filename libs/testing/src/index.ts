export * from './wait-for';
export * from './bus-contract.suite';
export * from './store-contract.suite';
