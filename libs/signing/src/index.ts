export * from './canonical';
export * from './gate-keys';
export * from './gate-key-files';
export * from './gate-signer';
export * from './gate-verifier';
export * from './signed-fields';
export * from './verdict-proof';
export * from './operator-proof';
