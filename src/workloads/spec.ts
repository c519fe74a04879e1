/**
 * Workload specs (workloads/*.yaml):
 *
 *   workload: register        # register | set
 *   keys: 10                  # register: independent keys
 *   mix: {read: 0.5, write: 0.3, cas: 0.2}
 *   concurrency: 10           # client processes
 *   rateOpsPerSec: 200        # across all clients; 0 = as fast as they can
 *   durationSec: 20
 *   timeoutMs: 1000           # past this an op is `info`
 *   reads: leader             # leader | followers | a read policy: leader-only, round-robin,
 *                             # least-lag, bounded-staleness:<ms>, session (src/lib/read-consistency.ts)
 *   readShare: 0.3            # set: this share of operations reads a recently added element back
 *   seed: 1
 */
import { z } from 'zod';
import { readConfigFile } from '../lib/config-file.js';
import { ConfigError } from '../lib/errors.js';
import { parseReadsSetting } from '../lib/read-consistency.js';
import { parseWith } from '../lib/schema.js';

const WorkloadSpecSchema = z.strictObject({
  name: z.string().min(1).optional(),
  workload: z.enum(['register', 'set', 'session']),
  keys: z.number().int().min(1).max(100_000).default(10),
  keyPrefix: z.string().max(64).optional(),
  mix: z
    .strictObject({ read: z.number().min(0).default(0), write: z.number().min(0).default(0), cas: z.number().min(0).default(0) })
    .default({ read: 0.5, write: 0.3, cas: 0.2 }),
  concurrency: z.number().int().min(1).max(1000).default(10),
  rateOpsPerSec: z.number().min(0).default(0),
  durationSec: z.number().positive().default(20),
  timeoutMs: z.number().int().positive().default(1000),
  // Kept as written (the history and the run's summary name it so); parsed into a policy where used.
  reads: z
    .string()
    .default('leader')
    .superRefine((text, ctx) => {
      const p = parseReadsSetting(text);
      if (!p.ok) ctx.addIssue({ code: 'custom', message: p.error });
    }),
  /** set only: the share of operations that read back a recently added element (0: adds only). */
  readShare: z.number().min(0).max(0.9).default(0),
  seed: z.number().int().min(0).default(1),
});

export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema> & { name: string; keyPrefix: string };

export function parseWorkloadSpec(input: unknown, where: string, defaultName = 'workload'): WorkloadSpec {
  const s = parseWith(WorkloadSpecSchema, input, where);
  if (s.workload !== 'set' && s.mix.read + s.mix.write + s.mix.cas <= 0)
    throw new ConfigError(`${where}: mix: at least one of read, write, cas must be above 0`);
  if (s.readShare > 0 && s.workload !== 'set')
    throw new ConfigError(`${where}: readShare: only the set workload reads its elements back (the others set mix.read)`);
  const name = s.name ?? defaultName;
  return { ...s, name, keyPrefix: s.keyPrefix ?? `${s.workload === 'set' ? 's' : 'r'}/` };
}

export async function loadWorkloadSpec(file: string): Promise<WorkloadSpec> {
  const doc = await readConfigFile(file, 'workload');
  return parseWorkloadSpec(doc, file, file.replace(/^.*\//, '').replace(/\.ya?ml$/, ''));
}
