// Checks a graphql-ws `subscribe` must pass before it runs. mercurius executes subscription
// documents without validating them (so the depth and complexity caps of limits.ts, which HTTP
// queries meet as validation rules, would never apply), and a second `subscribe` under an id in
// use replaces the live one in its table without ending it: that stream could then never be
// stopped, not even by closing the socket, and every graph event would still run it.
// mercurius also keeps the state of every subscribe it starts (a stream buffer) under its id
// before this guard runs, and a refused one is never dropped: refusals are therefore counted, and
// a socket past MAX_REFUSED_SUBSCRIPTIONS is closed (its state goes with it).
import { GraphQLError, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { checkParsedDocument } from './document-limits.js';
import { queryLimitsRule } from './limits.js';

/** Live subscriptions one socket may hold; each costs a listener and work on every graph event. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/** Refused subscribes one socket may send; the next closes it (1008, policy violation). */
export const MAX_REFUSED_SUBSCRIPTIONS = 100;

/** The part of a socket's context the guard keeps: ids of its live subscriptions, refusals. */
export interface SubscriptionSlots {
  liveSubscriptions?: Set<string>;
  refusedSubscriptions?: SocketRefusals;
}

/** Refusals on one socket (shared by every subscribe's copy of the context) and how to close it. */
export interface SocketRefusals {
  count: number;
  close(): void;
}

/** The refusal counter of a new socket. */
export function socketRefusals(socket: { close(code?: number, reason?: string): void }): SocketRefusals {
  return { count: 0, close: () => socket.close(1008, 'too many refused subscriptions') };
}

const rules = [...specifiedRules, queryLimitsRule()];

/**
 * mercurius `preSubscriptionExecution`: document limits and validation as over HTTP, then the
 * id's slot. A refusal is counted against the socket.
 */
export function guardSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  context: object,
  id: string | number,
): void {
  try {
    admit(schema, document, context, String(id));
  } catch (err) {
    const refusals = (context as SubscriptionSlots).refusedSubscriptions;
    if (refusals && ++refusals.count > MAX_REFUSED_SUBSCRIPTIONS) refusals.close();
    throw err;
  }
}

function admit(schema: GraphQLSchema, document: DocumentNode, slots: SubscriptionSlots, key: string): void {
  checkParsedDocument(document);
  const errors = validate(schema, document, rules);
  if (errors.length > 0) throw errors[0]!;
  const live = slots.liveSubscriptions;
  // A context without the slot table (a change in how sockets get their context) refuses all.
  if (!live || !slots.refusedSubscriptions)
    throw new GraphQLError('subscriptions are not available on this socket');
  if (live.has(key)) {
    throw new GraphQLError(`subscriber for ${key} already exists`, {
      extensions: { code: 'SUBSCRIPTION_ID_IN_USE' },
    });
  }
  if (live.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
    throw new GraphQLError(`a socket may hold at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions`, {
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: MAX_SUBSCRIPTIONS_PER_SOCKET },
    });
  }
  live.add(key);
}

/** mercurius `onSubscriptionEnd` (the client's `complete`): frees the id. */
export function releaseSubscription(context: object, id: string | number): void {
  (context as SubscriptionSlots).liveSubscriptions?.delete(String(id));
}
