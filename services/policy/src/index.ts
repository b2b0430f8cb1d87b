export { bootstrapPolicy } from './policy.app';
export { POLICY, POLICY_ENV, type PolicyConfig } from './config';
export * from './decisions';
