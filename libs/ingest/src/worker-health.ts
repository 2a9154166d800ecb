// What this process's job runner is doing, as the supervisor sees it and /readyz reports it.

/**
 * `off`: no job runner in this process (api role, or the worker disabled). `running`: taking
 * jobs. `restarting`: the runner stopped, stalled or is shutting down by itself, and a new one is
 * being started. `stopping`/`stopped`: the process is shutting down.
 */
export type WorkerState = 'off' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface WorkerHealthSnapshot {
  state: WorkerState;
  /** Why the runner is not running, when it is not. */
  reason?: string;
  /** Runners replaced since start-up. */
  restarts: number;
  /** Jobs picked up since start-up. */
  pickups: number;
  /**
   * Whether the runner's presence lock is held (libs/store/src/jobs/worker-presence.ts): without
   * it other workers take this one for dead and hand its locked jobs out again.
   */
  presence: boolean;
}

export class WorkerHealth {
  private current: WorkerHealthSnapshot = { state: 'off', restarts: 0, pickups: 0, presence: false };

  /** Ready unless this process runs a job runner that is not taking jobs. */
  get ready(): boolean {
    return this.current.state === 'off' || this.current.state === 'running';
  }

  get state(): WorkerState {
    return this.current.state;
  }

  set(state: WorkerState, reason?: string): void {
    this.current = { ...this.current, state, reason };
  }

  restarted(): void {
    this.current.restarts++;
  }

  presenceHeld(held: boolean): void {
    this.current.presence = held;
  }

  pickedUp(): void {
    this.current.pickups++;
  }

  snapshot(): WorkerHealthSnapshot {
    return { ...this.current };
  }
}
