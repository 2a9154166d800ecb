/**
 * The explorer's only ways out, all on this origin: GraphQL over HTTP and graphql-ws, the REST
 * endpoints GraphQL does not cover (activity, policies, verdicts) and manifests from the registry
 * view (for image sizes). Every call carries the token.
 */

const TOKEN_KEY = 'refgraph.apiToken';

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/**
 * What the server last said about the token: `unchecked` until a call answers, `accepted` when
 * one succeeded with it, `rejected` on a 401 with it, `required` on a 401 without one.
 * @typedef {'none' | 'unchecked' | 'accepted' | 'rejected' | 'required'} TokenState
 */
/** @type {TokenState} */
let tokenState = getToken() ? 'unchecked' : 'none';
/** @type {Set<(s: TokenState) => void>} */
const tokenListeners = new Set();

export function getTokenState() {
  return tokenState;
}

/** @param {(s: TokenState) => void} listener */
export function onTokenState(listener) {
  tokenListeners.add(listener);
}

/** @param {TokenState} next */
function setTokenState(next) {
  if (next === tokenState) return;
  tokenState = next;
  for (const l of tokenListeners) l(next);
}

/**
 * Only an answer to the token counts: 401 means it was not accepted, any other answer that passed
 * authentication (2xx, or 403 for a scope) means it was. The token sent is compared, so a late
 * answer for a replaced token changes nothing.
 * @param {Response} res @param {string} sent
 */
function observe(res, sent) {
  if (sent !== getToken()) return;
  if (res.status === 401) setTokenState(sent ? 'rejected' : 'required');
  else if (sent && (res.ok || res.status === 403)) setTokenState('accepted');
}

/** @param {string} token */
export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  setTokenState(token ? 'unchecked' : 'none');
  resetSubscriptions();
}

export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} [code]
   */
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A response body as JSON; `{}` when it is not JSON (a proxy's error page, say).
 * @param {Response} res
 * @returns {Promise<unknown>}
 */
function json(res) {
  return res.json().catch(() => ({}));
}

/** @returns {Record<string, string>} */
function authHeaders() {
  const token = getToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * @param {number} status
 * @param {string} message
 */
function explain(status, message) {
  if (status === 401) return `${message} — set an API token (button at the top right).`;
  if (status === 403) return `${message} — this token may not read it.`;
  return message;
}

/**
 * @template T
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {Promise<T>}
 */
export async function gql(query, variables = {}) {
  const sent = getToken();
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() },
    body: JSON.stringify({ query, variables }),
  });
  observe(res, sent);
  const body =
    /** @type {{ data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }>; error?: { message: string; code: string } }} */ (
      await json(res)
    );
  if (body.error) throw new ApiError(explain(res.status, body.error.message), res.status, body.error.code);
  const first = body.errors?.[0];
  if (first) throw new ApiError(explain(res.status, first.message), res.status, first.extensions?.code);
  if (!res.ok) throw new ApiError(explain(res.status, `HTTP ${res.status}`), res.status);
  return /** @type {T} */ (body.data);
}

/**
 * @template T
 * @param {string} path
 * @param {unknown} [post] a JSON body: the call is a POST
 * @returns {Promise<T>}
 */
export async function rest(path, post) {
  const sent = getToken();
  const res = await fetch(
    path,
    post === undefined
      ? { headers: { accept: 'application/json', ...authHeaders() } }
      : {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json', ...authHeaders() },
          body: JSON.stringify(post),
        },
  );
  observe(res, sent);
  const body = /** @type {{ error?: { message: string; code: string } }} */ (await json(res));
  if (!res.ok) {
    const message = body.error?.message ?? `HTTP ${res.status}`;
    throw new ApiError(explain(res.status, message), res.status, body.error?.code);
  }
  return /** @type {T} */ (body);
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * A manifest as the registry view serves it (refgraph's stored bytes when it has them).
 * @param {string} registry @param {string} repository @param {string} digest
 * @returns {Promise<{ config?: { size?: number }; layers?: Array<{ size?: number; digest?: string; mediaType?: string }>; manifests?: unknown[] }>}
 */
export async function manifest(registry, repository, digest) {
  const sent = getToken();
  const res = await fetch(`/v2/${registry}/${repository}/manifests/${digest}`, {
    headers: { accept: MANIFEST_TYPES, ...authHeaders() },
  });
  observe(res, sent);
  if (!res.ok) throw new ApiError(explain(res.status, `manifest: HTTP ${res.status}`), res.status);
  /** @type {unknown} */
  const body = await res.json();
  return /** @type {{ config?: { size?: number }; layers?: Array<{ size?: number; digest?: string; mediaType?: string }> }} */ (
    body
  );
}

/**
 * A blob from the registry view, digest-checked by the service before it is served.
 * @param {string} registry @param {string} repository @param {string} digest
 * @returns {Promise<Blob>}
 */
export async function blob(registry, repository, digest) {
  const sent = getToken();
  const res = await fetch(`/v2/${registry}/${repository}/blobs/${digest}`, { headers: authHeaders() });
  observe(res, sent);
  if (!res.ok) throw new ApiError(explain(res.status, `blob: HTTP ${res.status}`), res.status);
  return res.blob();
}

/**
 * The subset of graphql-ws (served from /ui/vendor) the explorer uses.
 * @typedef {{ next: (v: { data?: unknown; errors?: unknown[] }) => void; error: (e: unknown) => void; complete: () => void }} Sink
 * @typedef {{ subscribe: (p: { query: string; variables: Record<string, unknown> }, s: Sink) => () => void; dispose: () => void | Promise<void> }} WsClient
 * @typedef {{ url: string; lazy?: boolean; retryAttempts?: number; shouldRetry?: () => boolean;
 *   connectionParams?: () => Record<string, string>; on?: Record<string, () => void> }} WsOptions
 * @typedef {{ createClient: (o: WsOptions) => WsClient }} GraphqlWs
 */

/** @typedef {'connecting' | 'live' | 'offline'} LiveStatus */

/** @type {WsClient | null} */
let client = null;
/** @type {Set<(s: LiveStatus) => void>} */
const statusListeners = new Set();

/** @param {LiveStatus} s */
function setStatus(s) {
  for (const l of statusListeners) l(s);
}

function wsClient() {
  if (client) return client;
  const lib = /** @type {{ graphqlWs?: GraphqlWs }} */ (/** @type {unknown} */ (globalThis)).graphqlWs;
  if (!lib) throw new Error('graphql-ws is not loaded');
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  client = lib.createClient({
    url: url.href,
    lazy: true,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    connectionParams: () => {
      const token = getToken();
      /** @type {Record<string, string>} */
      const params = {};
      if (token) params.authorization = `Bearer ${token}`;
      return params;
    },
    on: {
      connecting: () => setStatus('connecting'),
      connected: () => setStatus('live'),
      closed: () => setStatus('offline'),
    },
  });
  return client;
}

function resetSubscriptions() {
  const old = client;
  client = null;
  if (old) void old.dispose();
}

/**
 * Subscribes until the returned function is called; `onStatus` follows the socket.
 * @template T
 * @param {string} query
 * @param {Record<string, unknown>} variables
 * @param {(data: T) => void} onData
 * @param {(s: LiveStatus) => void} onStatus
 * @returns {() => void}
 */
export function subscribe(query, variables, onData, onStatus) {
  statusListeners.add(onStatus);
  onStatus('connecting');
  let stop = () => {};
  try {
    stop = wsClient().subscribe(
      { query, variables },
      {
        next: (v) => {
          if (v.data) onData(/** @type {T} */ (v.data));
        },
        error: () => onStatus('offline'),
        complete: () => {},
      },
    );
  } catch {
    onStatus('offline');
  }
  return () => {
    statusListeners.delete(onStatus);
    stop();
  };
}
