export * from './wait-for';
export * from './on-kafka';
export * from './in-chromium';
