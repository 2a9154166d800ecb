export default async function globalTeardown(): Promise<void> {
  // Set by global-setup.ts (same process): drops a shared server's databases of this run and
  // releases the run's liveness lock; then the run's own embedded server, if any, stops.
  const run = (globalThis as { __refgraphTestRun?: { end(): Promise<void> } }).__refgraphTestRun;
  await run?.end();
  const stop = (globalThis as { __refgraphStopPg?: () => Promise<void> }).__refgraphStopPg;
  if (stop) await stop();
}
