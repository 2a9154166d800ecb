export function runtimePackages(lock: {
  packages: Record<string, Record<string, unknown> & { dependencies?: Record<string, string> }>;
}): Set<string>;
