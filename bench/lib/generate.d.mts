import type pg from 'pg';

export interface GraphPlan {
  artifacts: number;
  groups: number;
  repositories: number;
  hot: number;
  hotSubjects: number;
}
export interface GeneratedGraph {
  plan: GraphPlan;
  artifacts: number;
  edges: number;
  locations: number;
  repositories: number;
  ms: number;
}
export interface QueryKey {
  registry: string;
  repository: string;
  digest: string;
  /** The tag naming this digest in its repository (image indexes only). */
  tag?: string;
  /** False for the digests nobody stored (the 5 % of keys that must answer "nothing"). */
  known: boolean;
}
export const GROUP_ARTIFACTS: number;
export const GROUP_EDGES: number;
export const CHAIN_EVERY: number;
export const CHAIN_LEN: number;
export const HOT_SUBJECTS: number;
export const SBOM_PACKAGES: number;
export function plan(artifacts: number): GraphPlan;
export function generateGraph(
  clients: pg.ClientBase | pg.ClientBase[],
  opts: {
    artifacts: number;
    registryName?: string;
    registryUrl?: string;
    policyVersion?: string;
    log?: (m: string) => void;
  },
): Promise<GeneratedGraph>;
export function sampleKeys(
  client: pg.ClientBase,
  opts?: { count?: number; registryName?: string },
): Promise<QueryKey[]>;
export function hotKeys(client: pg.ClientBase, opts?: { registryName?: string }): Promise<QueryKey[]>;
export function dropSeeds(client: pg.ClientBase): Promise<void>;
