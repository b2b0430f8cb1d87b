export * from './canonical';
export * from './signer';
export * from './signed-fields';
export * from './verdict-proof';
