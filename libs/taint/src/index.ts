export * from './untrusted-values';
