export * from './wait-for';
export * from './on-kafka';
export * from './on-mongo';
export * from './in-chromium';
