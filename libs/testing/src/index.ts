export * from './wait-for';
export * from './store-contract.suite';
