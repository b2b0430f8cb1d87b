export * from './tool-implementation';
export * from './tool-port';
export * from './tool-registry';
export * from './reference-tools';
export * from './test-tool';
export * from './backends/backend.aggregates';
export * from './backends/backend-seed';
export * from './backends/simulated-backends';
