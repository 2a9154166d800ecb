export * from './reference.js';
export * from './answers.js';
export * from './verdict.js';
