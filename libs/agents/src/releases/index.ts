export * from './release.aggregates';
export * from './release-catalog';
export * from './release-file';
export * from './release-diff';
export * from './canary-split';
export * from './release-applier';
export * from './release-routing';
export * from './release-signing';
