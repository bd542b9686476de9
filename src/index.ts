export * from './errors';
export * from './duration';
export * from './options';
export * from './storage';
export * from './message';
export * from './consumer';
export * from './queue';
export * from './adapters/sqlite/sqlite-queue-adapter';
