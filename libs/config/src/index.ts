export * from './schema.js';
export * from './load.js';
export * from './pattern.js';
export * from './policy-warnings.js';
