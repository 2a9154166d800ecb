export * from './database.js';
export * from './migrator.js';
export * from './embedded-postgres.js';
export * from './registry.repository.js';
export * from './graph.repository.js';
export * from './referrers.repository.js';
export * from './inbox.repository.js';
export * from './group-commit.js';
export * from './sync.repository.js';
export * from './query.rows.js';
export * from './read/read.repository.js';
export * from './read/rows.js';
export type { PolicySbomRow, ScopedDigests, VerificationKind } from './read/evidence.reads.js';
export {
  MAX_CANDIDATE_STATEMENTS,
  type FindingRow,
  type VexStatementRow,
} from './read/vulnerability.reads.js';
export * from './trust.repository.js';
export * from './vulnerability-writes.js';
export * from './graph.listener.js';
export * from './registry-view.repository.js';
export * from './jobs/jobs.js';
export * from './jobs/queue-plans.js';
export * from './jobs/worker-presence.js';
export * from './errors.js';
export * from './read/replicas.js';
export * from './read/bounded-reads.js';
