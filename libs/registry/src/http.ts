// The HTTP stack of registry requests: connect and first-byte timeouts, and pinned realm lookups.
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { isNonPublicAddress, type Resolver } from './address.js';
import { REFUSED_ADDRESS } from './errors.js';

export interface Timeouts {
  /** TCP (and TLS) connection establishment. */
  connectMs: number;
  /** From the request being sent to the response headers: what a hung registry runs into. */
  firstByteMs: number;
}

/**
 * A fetch bound to its own connection pool with the given timeouts. With `vet`, every host name is
 * resolved by `resolver` and the connection goes to the vetted addresses only, so a name cannot
 * pass the realm check and then resolve elsewhere (DNS rebinding) when the socket opens.
 */
export function boundedFetch(timeouts: Timeouts, vet?: { resolver: Resolver }): typeof fetch {
  const agent = new Agent({
    connect: {
      timeout: timeouts.connectMs,
      ...(vet ? { lookup: vettedLookup(vet.resolver) } : {}),
    },
    headersTimeout: timeouts.firstByteMs,
  });
  const bound = (input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    });
  return bound;
}

function vettedLookup(resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (found) => {
        const refused = found.find((a) => isNonPublicAddress(a.address));
        if (found.length === 0 || refused) {
          const err = Object.assign(
            new Error(`${hostname} resolves to non-public address ${refused?.address ?? '(none)'}`),
            { code: REFUSED_ADDRESS },
          );
          return callback(err, '', 0);
        }
        if (options.all) return (callback as (e: null, a: typeof found) => void)(null, found);
        const first = found.find((a) => !options.family || a.family === options.family) ?? found[0]!;
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
