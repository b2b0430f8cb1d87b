export * from './wait-for';
export * from './on-kafka';
