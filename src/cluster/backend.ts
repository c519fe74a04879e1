/**
 * What a cluster backend offers the harness: per-node process control by node id. The process
 * backend (local.ts) implements it with child processes; the docker backend will with containers.
 */

/** One node as `.replab/<name>/cluster.json` lists it (DESIGN.md, CLI). */
export interface NodeEndpoint {
  id: string;
  http: string;
  repl: string;
  pid: number;
  dataDir: string;
}

export interface ClusterFile {
  name: string;
  nodes: NodeEndpoint[];
  monitor?: { http: string; pid: number };
  proxy?: { api: string; pid: number };
}

export interface ClusterBackend {
  readonly name: string;
  endpoints(): NodeEndpoint[];
  kill(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  restart(id: string): Promise<void>;
  down(options?: { clean?: boolean }): Promise<void>;
}
