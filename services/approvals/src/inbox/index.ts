/*
 * The reviewers' web inbox: served beside the approvals service, on its store and bus.
 * Free of NestJS; loaded as @leash/service-approvals/inbox.
 */
export * from './inbox.config';
export * from './inbox-sign-in';
export * from './inbox-desk';
export * from './inbox-notifications';
export * from './inbox-server';
export * from './start-inbox';
export * from './inbox-key';
