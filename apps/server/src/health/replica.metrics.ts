import type { ReplicaMetrics } from '#store';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The read replicas' gauges, on the process's metrics registry. */
export function replicaMetrics(registry: Registry): ReplicaMetrics {
  const lag = new Gauge({
    name: 'refgraph_read_replica_lag_seconds',
    help: 'Seconds a read replica is behind the primary (-1: unreachable or not measured)',
    labelNames: ['replica'],
    registers: [registry],
  });
  const rotation = new Gauge({
    name: 'refgraph_read_replica_in_rotation',
    help: 'Whether a read replica takes reads (1) or is out of rotation (0)',
    labelNames: ['replica'],
    registers: [registry],
  });
  const queries = new Counter({
    name: 'refgraph_read_queries_total',
    help: 'Read-model statements, by the database that answered (a replica, or "primary")',
    labelNames: ['target'],
    registers: [registry],
  });
  return {
    lag: (replica, seconds) => lag.set({ replica }, seconds ?? -1),
    inRotation: (replica, yes) => rotation.set({ replica }, yes ? 1 : 0),
    query: (target) => queries.inc({ target }),
  };
}
