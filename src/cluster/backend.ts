/**
 * What a cluster backend offers the harness: per-node process control by node id. The process
 * and docker backends (replab-cluster.ts with its two launchers) implement it.
 */

import { z } from 'zod';

/** One node as `.replab/<name>/cluster.json` lists it (the CLI reads it). */
export const NodeEndpointSchema = z.object({
  id: z.string(),
  http: z.string(),
  repl: z.string(),
  pid: z.number().int(),
  dataDir: z.string(),
});
export type NodeEndpoint = z.infer<typeof NodeEndpointSchema>;

/** `.replab/<name>/cluster.json`: where every process of a running cluster listens. */
export const ClusterFileSchema = z.object({
  name: z.string(),
  nodes: z.array(NodeEndpointSchema),
  monitor: z.object({ http: z.string(), pid: z.number().int() }).optional(),
  proxy: z.object({ api: z.string(), pid: z.number().int() }).optional(),
});
export type ClusterFile = z.infer<typeof ClusterFileSchema>;

export interface ClusterBackend {
  readonly name: string;
  endpoints(): NodeEndpoint[];
  kill(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  restart(id: string): Promise<void>;
  down(options?: { clean?: boolean }): Promise<void>;
}
