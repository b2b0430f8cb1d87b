export * from './kafka.transport';
export * from './topic-provisioner';
export * from './kafka-connection';
