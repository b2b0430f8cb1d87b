export * from './kill-scope';
export * from './kill.aggregate';
export * from './kill-switch';
export * from './control-channel';
export * from './control-commander';
