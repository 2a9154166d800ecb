// The OCI referrers API's query, the service's own (from dist/, as the bare answers are): the bare
// server runs exactly what refgraph runs, and the EXPLAIN in RESULTS.md is of that query.
export { REFERRERS_SQL } from '#store';
