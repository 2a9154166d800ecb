export default async function globalTeardown(): Promise<void> {
  const stop = (globalThis as { __refgraphStopPg?: () => Promise<void> }).__refgraphStopPg;
  if (stop) await stop();
}
