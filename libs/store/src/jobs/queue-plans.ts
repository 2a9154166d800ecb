// How Postgres plans the statements inside graphile-worker's add_job and add_jobs.
import type pg from 'pg';

const SETTING = 'plan_cache_mode=force_custom_plan';
/** Advisory lock key of this step ("RFQP"). */
const PLAN_LOCK_KEY = 0x52_46_51_50;

/**
 * Plans every statement inside add_job and add_jobs afresh on each call (a setting of those two
 * functions alone, applied after the queue's migrations, which replace them).
 *
 * Postgres caches the plans of a function's statements per connection and settles on a generic
 * one after a few calls. One made while the job table was small scans the whole table (add_jobs
 * first clears the keys of locked jobs with the same job key, an UPDATE joined to the table), and
 * the connection keeps it until the table's statistics change: every accepted delivery then read
 * every pending job, so accepting got slower as the backlog grew (the statement for one delivery
 * with one event: 1.1–1.7 ms with an empty queue, 2.8–5.3 ms with 15,000 jobs pending, measured
 * here), precisely while a sender is ahead of the workers. Planned per call, that UPDATE uses the
 * job key index; planning the handful of small statements costs less than one such scan.
 *
 * A role that does not own the functions (the queue installed by another) leaves them as they are.
 */
export async function planQueueStatementsPerCall(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  try {
    // Serialised between processes starting at once (two ALTERs of one function would collide),
    // and only where the setting is missing: each ALTER makes every connection replan.
    await db.query(`DO $$
      DECLARE f regprocedure;
      BEGIN
        PERFORM pg_advisory_xact_lock(${PLAN_LOCK_KEY});
        FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'graphile_worker' AND p.proname IN ('add_job', 'add_jobs')
                   AND NOT coalesce('${SETTING}' = ANY (p.proconfig), false)
        LOOP
          EXECUTE format('ALTER FUNCTION %s SET ${SETTING.replace('=', ' = ')}', f);
        END LOOP;
      END $$`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false; // insufficient_privilege
    throw err;
  }
}
