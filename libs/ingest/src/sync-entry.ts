// `#ingest/sync`: the registry walk and what running it needs, apart from the worker's side of the
// library (queue runner, metrics, verification), so a process that only syncs does not load
// sigstore, prom-client and the rest at start-up. The service imports `#ingest`, which has it all.
export * from './catalog.js';
export { migrateQueue } from './queue.js';
export * from './sync.js';
export type { SyncSummary, SyncErrorSample } from './sync-summary.js';
