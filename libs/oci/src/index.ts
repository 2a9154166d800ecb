export * from './digest.js';
export * from './media-types.js';
export * from './manifest.js';
export * from './classify.js';
export * from './edges.js';
export * from './lru.js';
