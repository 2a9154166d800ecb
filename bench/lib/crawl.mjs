// The limit a registry sets on a backfill: list the catalog and every repository's tags, GET every
// tagged manifest and every manifest an index lists, `concurrency` requests at a time, and store
// nothing. `refgraph sync` does this walk plus parsing, graph writes and queueing verification.
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function json(url) {
  const res = await fetch(url, { headers: { accept: ACCEPT } });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

/** Follows `Link: <...>; rel="next"` pagination. */
async function paged(base, path, key) {
  const out = [];
  for (let next = path; next;) {
    const res = await fetch(new URL(next, base));
    if (!res.ok) throw new Error(`GET ${next}: HTTP ${res.status}`);
    out.push(...((await res.json())[key] ?? []));
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
  }
  return out;
}

export async function crawl(url, { concurrency = 8 } = {}) {
  const t0 = process.hrtime.bigint();
  const repositories = await paged(url, '/v2/_catalog?n=1000', 'repositories');
  const queue = [];
  for (const repo of repositories)
    for (const tag of await paged(url, `/v2/${repo}/tags/list?n=1000`, 'tags')) queue.push([repo, tag]);
  const seen = new Set();
  let manifests = 0;
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const [repo, ref] = item;
      const m = await json(`${url}/v2/${repo}/manifests/${ref}`);
      manifests++;
      for (const d of m.manifests ?? []) {
        const key = `${repo}@${d.digest}`;
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push([repo, d.digest]);
      }
      // Workers that found the queue empty have ended; wake capacity back up for new items.
      while (running < concurrency && queue.length > 0) spawn();
    }
  };
  let running = 0;
  const all = [];
  const spawn = () => {
    running++;
    all.push(worker().finally(() => running--));
  };
  for (let i = 0; i < concurrency; i++) spawn();
  while (all.length) await all.shift();
  return { manifests, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}
