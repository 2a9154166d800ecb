import { createRequire } from 'node:module';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 request written byte for byte, so a test controls what fetch would normalise: the
 * request target (absolute form, fragment, `//`, percent-encoding) and hop-by-hop headers
 * (Connection, Upgrade). Reads the status, headers and a Content-Length body, then closes.
 */
export function rawRequest(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${hostname}:${port}`];
  const all: Record<string, string> = { connection: 'close', ...headers };
  if (body) all['content-length'] = String(Buffer.byteLength(body));
  for (const [k, v] of Object.entries(all)) lines.push(`${k}: ${v}`);
  const request = `${lines.join('\r\n')}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let buf = Buffer.alloc(0);
    const finish = () => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        parsed[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      const length = status === 101 ? 0 : Number(parsed['content-length'] ?? NaN);
      const rest = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (Number.isNaN(length) || rest.length < length) return false;
      socket.destroy();
      resolve({ status, headers: parsed, body: rest.subarray(0, length).toString('utf8') });
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      finish();
    });
    socket.on('end', () => {
      if (!finish()) reject(new Error(`connection closed mid-response: ${buf.toString('latin1')}`));
    });
    socket.on('error', reject);
  });
}

const WS_HEADERS = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-protocol': 'graphql-transport-ws',
};

/** The headers of a well-formed WebSocket opening handshake (RFC 6455 §4.1). */
export function handshakeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { ...WS_HEADERS, ...extra };
}

type WsLike = {
  on(event: 'open', cb: () => void): void;
  on(event: 'message', cb: (data: Buffer) => void): void;
  on(event: 'close', cb: (code: number) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'unexpected-response', cb: (req: unknown, res: { statusCode: number }) => void): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
};
const { WebSocket } = createRequire(import.meta.url)('ws') as {
  WebSocket: new (url: string, protocol: string, opts: { headers: Record<string, string> }) => WsLike;
};

/**
 * Opens a graphql-transport-ws connection and sends connection_init with `payload`. Resolves with
 * what decided it: `ack`, the first other message type, `close:<code>`, or `http:<status>` when the
 * handshake itself was refused.
 */
export function graphqlWsInit(
  base: string,
  payload: Record<string, unknown> | undefined,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers });
    let done = false;
    const settle = (v: string) => {
      if (done) return;
      done = true;
      resolve(v);
      ws.terminate();
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload })));
    ws.on('message', (data) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      settle(type === 'connection_ack' ? 'ack' : type);
    });
    ws.on('close', (code) => settle(`close:${code}`));
    ws.on('unexpected-response', (_req, res) => settle(`http:${res.statusCode}`));
    ws.on('error', (err) => settle(`error:${err.message}`));
  });
}
