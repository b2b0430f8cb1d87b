export * from './tool-definition';
export * from './identity';
export * from './agent-profile';
export * from './policy-document';
export * from './profile-source';
export * from './reference';
export * from './catalog';
export * from './releases';
