export * from './reference.js';
export * from './errors.js';
export * from './viewer.js';
export * from './answers.js';
export * from './graph-reader.js';
export * from './verdict.js';
export * from './view-access.js';
