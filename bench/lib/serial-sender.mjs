// A serial webhook sender that behaves as Distribution 2.8's notification sink does on the wire:
// one POST at a time, the next only after the answer, the headers Go's client sends, and (unless
// keepAlive) a new TCP connection per delivery, closed after the answer (the sink calls
// CloseIdleConnections after every write). Raw sockets, so the sender's own cost stays small.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * The envelope of one manifest push as Distribution 2.8.2 writes it (json.MarshalIndent with a
 * three-space indent; fields as in the captured session), a fresh event id and digest each call.
 */
export function distributionEnvelopes(repos) {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  return () => {
    const i = n++;
    const repository = repos[i % repos.length];
    const digest = `sha256:${(run + i.toString(16)).padStart(64, '0')}`;
    const id = `${run}-${i.toString(16).padStart(8, '0')}-4e43-9ece-9da2f774b780`;
    return Buffer.from(
      JSON.stringify(
        {
          events: [
            {
              id,
              timestamp: new Date().toISOString(),
              action: 'push',
              target: {
                mediaType: MANIFEST,
                size: 345,
                digest,
                length: 345,
                repository,
                url: `http://127.0.0.1:5000/v2/${repository}/manifests/${digest}`,
                tag: 'v1',
                references: [
                  {
                    mediaType: 'application/vnd.oci.image.config.v1+json',
                    size: 440,
                    digest: 'sha256:36ab3a4bac81066cacc2f26f9f321039576ff70ef6e17dd415d9af8bbedd7511',
                  },
                  {
                    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
                    size: 177,
                    digest: 'sha256:26d5f065b034f3157b9b6195283576a26fa749ec050b15810364dcba4b3c99d8',
                  },
                ],
              },
              request: {
                id: `${run}-${i}`,
                addr: '127.0.0.1:37800',
                host: '127.0.0.1:5000',
                method: 'PUT',
                useragent: 'skopeo/1.9.3',
              },
              actor: {},
              source: { addr: 'vm:5000', instanceID: '145ab0d3-273d-42a9-ac65-532dce167dbf' },
            },
          ],
        },
        null,
        3,
      ),
    );
  };
}

/** The request bytes Go's net/http client writes for the sink's Post (header order as Go's). */
function requestBytes(host, path, token, body) {
  const head =
    `POST ${path} HTTP/1.1\r\n` +
    `Host: ${host}\r\n` +
    `User-Agent: Go-http-client/1.1\r\n` +
    `Content-Length: ${body.length}\r\n` +
    `Authorization: Bearer ${token}\r\n` +
    `Content-Type: application/vnd.docker.distribution.events.v1+json\r\n` +
    `Accept-Encoding: gzip\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Reads one response with a Content-Length (fastify always sends one for these answers). */
function readResponse(socket) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const length = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + length) return;
      cleanup();
      resolve({
        status: Number(head.slice(9, 12)),
        head,
        body: buf.subarray(end + 4, end + 4 + length).toString('utf8'),
        rest: buf.length - (end + 4 + length),
      });
    };
    const onError = (err) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('connection closed before the answer'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

function open(port) {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * Sends `count` deliveries one after another and returns deliveries/s, p50/p99 of each delivery's
 * time as the sender sees it (connect, when new, to the last byte of the answer), the answers'
 * statuses, and the last answer's head and body (to show what the sender waits for).
 */
export async function sendSerially({ url, token, next, count, keepAlive = false }) {
  const { hostname, port, host } = new URL(url);
  const path = new URL(url).pathname;
  if (hostname !== '127.0.0.1') throw new Error('the serial sender only talks to 127.0.0.1');
  const durations = [];
  const statuses = {};
  let socket;
  let last;
  let connections = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const req = requestBytes(host, path, token, next());
    const start = performance.now();
    if (!socket) {
      socket = await open(Number(port));
      connections++;
    }
    socket.write(req);
    last = await readResponse(socket);
    if (!keepAlive || /\r\nconnection:\s*close/i.test(last.head)) {
      socket.destroy();
      socket = undefined;
    }
    durations.push(performance.now() - start);
    statuses[last.status] = (statuses[last.status] ?? 0) + 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  socket?.destroy();
  durations.sort((a, b) => a - b);
  const pct = (q) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))];
  return {
    count,
    connections,
    rps: count / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    statuses,
    lastHead: last?.head,
    lastBody: last?.body,
  };
}

/**
 * Passes of `count` serial deliveries to each of `servers` ({ id, url }: a webhook URL) in turns,
 * the order reversed every pass, so that a shared machine's load changes reach all of them alike.
 * Returns per id the median pass (deliveries/s, p50, p99) and every pass's rate.
 */
export async function alternateSerially(
  servers,
  { token, next, passes = 5, count = 300, keepAlive = false },
) {
  const runs = new Map(servers.map((s) => [s.id, []]));
  for (let p = 0; p < passes; p++) {
    for (const s of p % 2 ? [...servers].reverse() : servers) {
      await sendSerially({ url: s.url, token, next, count: Math.ceil(count / 5), keepAlive });
      runs.get(s.id).push(await sendSerially({ url: s.url, token, next, count, keepAlive }));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(
    [...runs].map(([id, rs]) => [
      id,
      {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        passes: rs.map((r) => Math.round(r.rps)),
        errors: rs.reduce((n, r) => n + count - (r.statuses[202] ?? 0), 0),
      },
    ]),
  );
}
