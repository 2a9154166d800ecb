import type { RegistryConfig } from '#config';

/** A RegistryConfig for tests; only the base URL is required. */
export function testRegistryConfig(url: string, extra: Partial<RegistryConfig> = {}): RegistryConfig {
  return {
    name: 'test',
    kind: 'distribution',
    url,
    webhookAuth: { type: 'none' },
    allowedRedirectHosts: [],
    allowedTokenRealms: [],
    maxManifestBytes: 4 * 1024 * 1024,
    ...extra,
  };
}
