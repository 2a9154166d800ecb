/** Injection tokens for values built before Nest starts (see app.ts). */
export const CONFIG = Symbol('config');
export const DATABASE = Symbol('database');
export const CATALOG = Symbol('catalog');
export const REFERRERS = Symbol('referrers');
export const INBOX = Symbol('inbox');
export const METRICS = Symbol('metrics');
export const LOGGER = Symbol('logger');
export const ANSWERS = Symbol('answers');
export const WORKER_HEALTH = Symbol('worker-health');
/** The read replicas chooser, or null when the read model reads from the primary only. */
export const READ_REPLICAS = Symbol('read-replicas');
/** The read model on the primary, for reads that follow a NOTIFY (subscriptions). */
export const PRIMARY_ANSWERS = Symbol('primary-answers');
