import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { HealthController } from './health/health.controller.js';
import { SyncController } from './sync/sync.controller.js';
import { ApiController } from './api/api.controller.js';
import { VulnerabilitiesController } from './api/vulnerabilities.controller.js';
import { EventsController } from './api/events.controller.js';
import { GatekeeperController } from './api/gatekeeper.controller.js';
import { OpenApiController } from './api/openapi.controller.js';
import { PoliciesController } from './api/policies.controller.js';
import { GraphqlModule } from './graphql/graphql.module.js';
import { UiController } from './ui/ui.controller.js';
import {
  ANSWERS,
  CATALOG,
  CONFIG,
  DATABASE,
  INBOX,
  LOGGER,
  METRICS,
  READ_REPLICAS,
  REFERRERS,
  WORKER_HEALTH,
} from './tokens.js';
import type { Runtime } from './runtime.js';

@Module({})
export class AppModule {
  /** The runtime (database, repositories, registries) is built before Nest and handed in as values. */
  static forRuntime(rt: Runtime): DynamicModule {
    const providers: Provider[] = [
      { provide: CONFIG, useValue: rt.config },
      { provide: DATABASE, useValue: rt.db },
      { provide: CATALOG, useValue: rt.catalog },
      { provide: REFERRERS, useValue: rt.referrers },
      { provide: INBOX, useValue: rt.inbox },
      { provide: METRICS, useValue: rt.metrics },
      { provide: LOGGER, useValue: rt.logger },
      { provide: ANSWERS, useValue: rt.answers },
      { provide: WORKER_HEALTH, useValue: rt.workerHealth },
      { provide: READ_REPLICAS, useValue: rt.replicas ?? null },
    ];
    return {
      module: AppModule,
      imports: [GraphqlModule.forRuntime(rt)],
      controllers: [
        HealthController,
        SyncController,
        ApiController,
        VulnerabilitiesController,
        GatekeeperController,
        PoliciesController,
        EventsController,
        OpenApiController,
        UiController,
      ],
      providers,
    };
  }
}
