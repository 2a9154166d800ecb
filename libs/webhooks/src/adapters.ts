import type { RegistryKind } from '#config';
import type { WebhookAdapter } from './types.js';
import { acrAdapter } from './adapters/acr.js';
import { artifactoryAdapter } from './adapters/artifactory.js';
import { distributionAdapter } from './adapters/distribution.js';
import { dockerhubAdapter } from './adapters/dockerhub.js';
import { ecrAdapter } from './adapters/ecr.js';
import { garAdapter } from './adapters/gar.js';
import { ghcrAdapter } from './adapters/ghcr.js';
import { giteaAdapter } from './adapters/gitea.js';
import { harborAdapter } from './adapters/harbor.js';
import { quayAdapter } from './adapters/quay.js';
import { zotAdapter } from './adapters/zot.js';

/** A Record over RegistryKind: adding a kind to the config fails compilation until it has an adapter. */
const ADAPTERS: Readonly<Record<RegistryKind, WebhookAdapter>> = {
  distribution: distributionAdapter,
  harbor: harborAdapter,
  zot: zotAdapter,
  quay: quayAdapter,
  dockerhub: dockerhubAdapter,
  ghcr: ghcrAdapter,
  acr: acrAdapter,
  ecr: ecrAdapter,
  gar: garAdapter,
  artifactory: artifactoryAdapter,
  gitea: giteaAdapter,
};

export function getAdapter(kind: RegistryKind): WebhookAdapter {
  const adapter = Object.hasOwn(ADAPTERS, kind) ? ADAPTERS[kind] : undefined;
  if (!adapter) throw new Error(`no webhook adapter for registry kind "${String(kind)}"`);
  return adapter;
}

/** Kinds whose senders sign the body, i.e. the only kinds for which `hmac-sha256` auth can work. */
export const SIGNING_KINDS: readonly RegistryKind[] = ['ghcr', 'gitea', 'artifactory'];
