/**
 * check.json, as `replab run` writes it next to each run's history (the checker's CheckResult plus
 * the split-brain check), parsed for its readers (the report): one schema, checked against the
 * writer's type at compile time, so a field renamed on one side fails the build instead of making
 * the report show nothing. Latency and stale reads, which no reader looks into, are kept
 * unchecked; fields the schema does not name (resolutions, per-node figures) are dropped.
 */
import { promises as fsp } from 'node:fs';
import { z } from 'zod';
import type { CheckResult } from './checker.js';
import type { SplitBrainResult } from './split-brain.js';

const crashed = z.object({ crashed: z.literal(true), valid: z.literal('unknown'), error: z.string() });
/** A checker's result or, when it crashed, why (checker.ts `safe`). */
const safe = <T extends z.ZodRawShape>(shape: T) => z.union([crashed, z.object({ ...shape, crashed: z.literal(false).optional() })]);
const validity = z.union([z.boolean(), z.literal('unknown')]);

const OpSummarySchema = z.object({
  process: z.union([z.number(), z.string()]),
  f: z.string(),
  key: z.string(),
  value: z.unknown(),
  type: z.string(),
  invokeIndex: z.number().int(),
  completeIndex: z.number().int().nullable(),
});

const LinearizabilitySchema = safe({
  valid: validity,
  model: z.string(),
  keys: z.number(),
  opsChecked: z.number(),
  failures: z.array(
    z.object({
      key: z.string(),
      op: OpSummarySchema,
      prefixTail: z.array(OpSummarySchema),
      concurrent: z.array(OpSummarySchema),
      message: z.string(),
    }),
  ),
  unknown: z.array(z.object({ key: z.string(), reason: z.string() })),
});

const EvidenceSchema = safe({
  finalLeader: z.string().nullable(),
  nodesWithLogs: z.array(z.string()),
  nodesWithoutEvidence: z.array(z.object({ node: z.string(), why: z.string() })),
  acked: z.number(),
  lostAcked: z.number(),
  lost: z.array(
    z.object({
      process: z.union([z.number(), z.string()]),
      f: z.string(),
      key: z.string(),
      value: z.string(),
      invokeIndex: z.number().int(),
      completeIndex: z.number().int(),
      node: z.string().nullable(),
      epoch: z.number().nullable(),
      lsn: z.number().nullable(),
      where: z.string(),
    }),
  ),
  infoResolved: z.number(),
  infoOpen: z.number(),
  message: z.string(),
});

const LossSchema = safe({
  valid: validity,
  acked: z.number(),
  lostAcked: z.number(),
  recovered: z.number(),
  lostSamples: z.array(z.unknown()),
  message: z.string(),
});

const AvailabilitySchema = safe({
  ops: z.number(),
  outageMs: z.number(),
  outageWindow: z.object({ fromTime: z.number(), toTime: z.number() }).nullable(),
});

const SplitBrainWriteSchema = z.object({
  index: z.number().int(),
  epoch: z.number(),
  node: z.string().optional(),
  key: z.string().optional(),
  newerEpoch: z.number(),
});
const SplitBrainSchema = z.object({
  splitBrainWrites: z.number(),
  samples: z.array(SplitBrainWriteSchema),
  writes: z.array(SplitBrainWriteSchema),
  epochs: z.array(z.number()),
});

const QuantilesSchema = z.object({ p50: z.number(), p90: z.number(), p99: z.number(), max: z.number() });
const StalenessSchema = z.object({ judged: z.number(), behind: z.number(), versionsBehind: QuantilesSchema, msBehind: QuantilesSchema });
const VersionRefSchema = z.object({ key: z.string(), value: z.unknown(), lsn: z.number().nullable(), index: z.number().int().nullable() });
const GuaranteeSchema = z.enum(['read-your-writes', 'monotonic-reads', 'monotonic-writes', 'writes-follow-reads']);

/** The session-guarantee checker (session.ts): what the report's reads table, chart and timelines show. */
const SessionsSchema = safe({
  sessions: z.number(),
  okReads: z.number(),
  readsJudged: z.number(),
  readsUnordered: z.number(),
  writes: z.number(),
  writesJudged: z.number(),
  violations: z.record(GuaranteeSchema, z.number()),
  violationList: z.array(
    z.object({
      kind: GuaranteeSchema,
      session: z.number(),
      f: z.enum(['read', 'write']),
      key: z.string(),
      index: z.number().int(),
      time: z.number(),
      node: z.string().nullable(),
      policy: z.string().nullable(),
      token: z.number().nullable(),
      servedLsn: z.number().nullable(),
      expected: VersionRefSchema,
      requiredBy: z.number().int(),
      got: VersionRefSchema,
    }),
  ),
  anomalies: z.object({ unknownValue: z.number(), failedWriteValue: z.number(), duplicateValue: z.number() }),
  staleness: StalenessSchema,
  perPolicy: z.record(z.string(), StalenessSchema.extend({ okReads: z.number(), violations: z.number() })),
  perNode: z.record(z.string(), StalenessSchema.extend({ okReads: z.number(), share: z.number() })),
});

const LostReadsSchema = safe({
  judged: z.number(),
  readsOfLostWrites: z.number(),
  lostWritesRead: z.number(),
  reads: z.array(
    z.object({
      t: z.number(),
      process: z.union([z.number(), z.string()]),
      node: z.string().nullable(),
      key: z.string(),
      value: z.unknown(),
      write: z.string(),
    }),
  ),
  message: z.string(),
});

const ReadPlacementSchema = safe({ okReads: z.number(), followerReads: z.number(), followerShare: z.number().nullable() });

export const CheckFileSchema = z.object({
  valid: validity,
  model: z.string(),
  ops: z.number(),
  linearizable: LinearizabilitySchema.optional(),
  evidence: EvidenceSchema.optional(),
  loss: LossSchema.optional(),
  lostReads: LostReadsSchema.optional(),
  availability: AvailabilitySchema.optional(),
  staleReads: z.unknown().optional(),
  latency: z.unknown().optional(),
  splitBrain: SplitBrainSchema.optional(),
  sessions: SessionsSchema.optional(),
  readPlacement: ReadPlacementSchema.optional(),
});
export type CheckFile = z.infer<typeof CheckFileSchema>;

/** What run-one writes: the checker's result plus the split-brain check. */
export type CheckFileWritten = CheckResult & { splitBrain: SplitBrainResult };
// Compile-time: everything the writer writes is something this schema accepts.
const _writerMatchesSchema = (w: CheckFileWritten): z.input<typeof CheckFileSchema> => w;
void _writerMatchesSchema;

/**
 * A run's check.json, or undefined when it is missing or not what the checker writes (a run that
 * stopped before checking, or a damaged file): the report then shows the run without it.
 */
export async function readCheckFile(file: string): Promise<CheckFile | undefined> {
  try {
    const r = CheckFileSchema.safeParse(JSON.parse(await fsp.readFile(file, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
