export * from './mongo.store';
export { transactionSupportProblem, type HelloReply } from './mongo-server';
