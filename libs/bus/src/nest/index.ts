export * from './tokens';
export * from './bus.context';
export * from './bus.server';
export * from './bus-exception.filter';
export * from './bus.module';
export * from './listen-on-bus';
