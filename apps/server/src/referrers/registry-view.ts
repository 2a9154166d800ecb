/** Builds the registry view (/v2 manifests, blobs, tags) from the process's runtime. */
import { RegistryViewRepository } from '#store';
import type { Runtime } from '../runtime.js';
import { BlobView } from './blob-view.js';
import { LegacyTags } from './legacy-tags.js';
import { ManifestView } from './manifest-view.js';
import { PulledBlobs } from './pulled-blobs.js';
import { RegistryViewRoutes } from './registry-view.routes.js';
import { ViewMetrics } from './view.metrics.js';

export function createRegistryView(runtime: Runtime): RegistryViewRoutes {
  const metrics = new ViewMetrics(runtime.metrics.registry);
  const view = new RegistryViewRepository(runtime.readDb, runtime.primaryReads);
  const config = runtime.config.registryView;
  const pulled = new PulledBlobs({
    registries: runtime.registries,
    graph: runtime.graph,
    metrics,
    logger: runtime.logger,
  });
  const manifests = new ManifestView({
    view,
    legacy: new LegacyTags(view, runtime.referrers),
    catalog: runtime.catalog,
    inbox: runtime.inbox,
    metrics,
    pulled,
    config,
    logger: runtime.logger,
  });
  const blobs = new BlobView({
    view,
    catalog: runtime.catalog,
    metrics,
    maxBytes: config.maxBlobBytes,
    logger: runtime.logger,
  });
  return new RegistryViewRoutes({ manifests, blobs, view, catalog: runtime.catalog, metrics });
}
