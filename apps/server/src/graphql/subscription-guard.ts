// Checks a graphql-ws `subscribe` must pass before it runs. mercurius executes subscription
// documents without validating them (so the depth and complexity caps of limits.ts, which HTTP
// queries meet as validation rules, would never apply), and a second `subscribe` under an id in
// use replaces the live one in its table without ending it: that stream could then never be
// stopped, not even by closing the socket, and every graph event would still run it.
import { GraphQLError, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { assertParsedDocument } from './document-source.js';
import { queryLimitsRule } from './limits.js';

/** Live subscriptions one socket may hold; each costs a listener and work on every graph event. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/** The part of a socket's context the guard keeps: ids of its live subscriptions. */
export interface SubscriptionSlots {
  liveSubscriptions?: Set<string>;
}

const rules = [...specifiedRules, queryLimitsRule()];

/** mercurius `preSubscriptionExecution`: validates as HTTP does, and takes the id's slot. */
export function guardSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  context: object,
  id: string | number,
): void {
  assertParsedDocument(document);
  const errors = validate(schema, document, rules);
  if (errors.length > 0) throw errors[0]!;
  const live = (context as SubscriptionSlots).liveSubscriptions;
  // A context without the slot table (a change in how sockets get their context) refuses all.
  if (!live) throw new GraphQLError('subscriptions are not available on this socket');
  const key = String(id);
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
