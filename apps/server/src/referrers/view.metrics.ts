/** The registry view's metrics, on the process's one Prometheus registry. */
import { Counter, Histogram, type Registry } from 'prom-client';

export class ViewMetrics {
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly upstreamSeconds: Histogram<'registry' | 'operation' | 'outcome'>;
  readonly bytesProxied: Counter<'registry'>;
  readonly pullThrough: Counter<'registry' | 'outcome'>;
  readonly streamsBroken: Counter<'registry'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'refgraph_view_requests_total',
      help: 'Registry view (/v2) requests, by route (manifests, blobs, tags, referrers, token, base), method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: 'refgraph_view_upstream_seconds',
      help: 'Registry requests made for the view (manifest, tag, blob headers), by outcome',
      labelNames: ['registry', 'operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.bytesProxied = new Counter({
      name: 'refgraph_view_blob_bytes_proxied_total',
      help: 'Blob bytes streamed from registries to view clients',
      labelNames: ['registry'],
      registers,
    });
    this.pullThrough = new Counter({
      name: 'refgraph_view_pull_through_total',
      help: 'Manifests served from the registry before ingestion and queued for it, by outcome (queued, failed; link_failed: their blobs could not be linked)',
      labelNames: ['registry', 'outcome'],
      registers,
    });
    this.streamsBroken = new Counter({
      name: 'refgraph_view_blob_streams_broken_total',
      help: 'Blob transfers cut off because the registry sent wrong bytes, too many, or failed mid-stream',
      labelNames: ['registry'],
      registers,
    });
  }

  /** Times one upstream operation, labelling it with its outcome. */
  async time<T>(registry: string, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = this.upstreamSeconds.startTimer({ registry, operation });
    try {
      const out = await fn();
      end({ outcome: 'ok' });
      return out;
    } catch (err) {
      end({ outcome: (err as { code?: string }).code ?? 'error' });
      throw err;
    }
  }
}
