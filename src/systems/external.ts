/**
 * Systems supplied by the user: a cluster spec may say `system: ./my-system.js`, a module of the
 * user's own that exports `up(spec, options)` returning an object with the SystemUnderTest methods
 * (docs/systems.md). It is loaded and checked before a run starts: a module that does not load,
 * has no `up`, or returns an object missing methods is bad input (exit 2) naming what is missing.
 *
 * The module's code runs inside the harness, so what it does wrong surfaces here, named: an up()
 * that throws (exit 2) or does not return within readyTimeoutMs (exit 4), a dataClient() that
 * answers something other than a client, keepArtefacts() that answers something other than the
 * per-node map. Whatever processes the module started are stopped by the run either way
 * (OwnedProcesses in src/systems/index.ts).
 */
import { pathToFileURL } from 'node:url';
import type { ClusterSpec } from '../cluster/spec.js';
import { ConfigError, EnvironmentError, HarnessError, toError } from '../lib/errors.js';
import type { DataClient } from '../workloads/data-client.js';
import { LAG_UNITS, type SystemCapabilities, type SystemOptions, type SystemUnderTest } from './system.js';

/** Every method a system object must have (the NemesisCluster ones included). */
export const SYSTEM_METHODS = [
  'nodeIds',
  'currentLeaderId',
  'links',
  'toxiproxy',
  'kill',
  'pause',
  'resume',
  'restart',
  'simulatesPowerLoss',
  'dataClient',
  'lag',
  'waitConverged',
  'down',
  'keepArtefacts',
] as const;

/** Methods a system may have for faults only some systems support (disk-full, switchover). */
export const OPTIONAL_METHODS = ['fillDisk', 'freeDisk', 'switchover', 'setClock'] as const;

/** What a module may export: `up`, and the optional declarations (docs/systems.md, "The module"). */
export const MODULE_EXPORTS = ['up', 'capabilities', 'settingsSchema', 'describeMode'] as const;

/** Every method a client from dataClient() must have (src/workloads/data-client.ts). */
export const DATA_CLIENT_METHODS = ['read', 'write', 'cas', 'add', 'scan', 'nodeIds', 'noteLeaderHint', 'refresh', 'close'] as const;
/** The client's data operations: each resolves to an outcome, never throws (docs/systems.md). */
export const DATA_OPERATIONS = ['read', 'write', 'cas', 'add', 'scan'] as const;

export interface SystemModule {
  up(spec: ClusterSpec, options: SystemOptions): Promise<SystemUnderTest>;
  /** What the system can measure (docs/systems.md); a metric it declares false reads "not measured". */
  capabilities?: Partial<SystemCapabilities>;
  /** The fields a cluster spec's `settings:` may hold (docs/systems.md, "Settings of your own"). */
  settingsSchema?: SettingsSchema;
  /** A mode in words for the report's settings column: "SET + WAIT 1 (1000 ms)". */
  describeMode?: (spec: ClusterSpec) => string;
}

/** One field of a module's settings, as the module declares it. */
export interface SettingField {
  type: 'string' | 'number' | 'integer' | 'boolean';
  /** For strings: the only values allowed. */
  enum?: readonly string[];
  /** For numbers: inclusive bounds. */
  min?: number;
  max?: number;
  /** Used when the spec leaves the field out; a field without a default must be given unless optional. */
  default?: unknown;
  optional?: boolean;
  description?: string;
}

/**
 * A module's settings: field name → SettingField, or any schema object with zod's `safeParse`
 * (a module that already uses zod hands its schema over as it is).
 */
export type SettingsSchema = Record<string, SettingField> | { safeParse(input: unknown): ZodLikeResult };
interface ZodLikeResult {
  success: boolean;
  data?: unknown;
  error?: { issues?: Array<{ path?: PropertyKey[]; message?: string }> };
}

const CAPABILITY_CHECKS: Record<keyof SystemCapabilities, { ok: (v: unknown) => boolean; expected: string }> = {
  splitBrainWrites: { ok: (v) => typeof v === 'boolean', expected: 'true or false' },
  lagUnit: { ok: (v) => v === null || (LAG_UNITS as readonly unknown[]).includes(v), expected: `one of ${LAG_UNITS.join(', ')}, or null` },
  lagMsStep: { ok: (v) => v === null || (typeof v === 'number' && Number.isFinite(v) && v > 0), expected: 'a positive number of ms, or null' },
};

/** Checks a module's exported `capabilities`: an object of known names, each of its kind. */
function validateCapabilities(caps: unknown, file: string): Partial<SystemCapabilities> | undefined {
  if (caps === undefined) return undefined;
  if (typeof caps !== 'object' || caps === null || Array.isArray(caps))
    throw new ConfigError(`system module ${file}: capabilities is ${describeValue(caps)}, not an object such as { splitBrainWrites: false }`);
  const known = Object.keys(CAPABILITY_CHECKS);
  for (const [k, v] of Object.entries(caps)) {
    const check = CAPABILITY_CHECKS[k as keyof SystemCapabilities];
    if (!check) throw new ConfigError(`system module ${file}: capabilities.${k} is not a capability (known: ${known.join(', ')})`);
    if (!check.ok(v)) throw new ConfigError(`system module ${file}: capabilities.${k} is ${describeValue(v)}, not ${check.expected}`);
  }
  return caps as Partial<SystemCapabilities>;
}

const FIELD_KEYS = new Set(['type', 'enum', 'min', 'max', 'default', 'optional', 'description']);

/** Checks the declared settings schema itself when the module loads: a mistake there is the module's, named. */
function validateSettingsSchema(schema: unknown, file: string): SettingsSchema | undefined {
  if (schema === undefined) return undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new ConfigError(`system module ${file}: settingsSchema is ${describeValue(schema)}, not an object of field → {type, ...}`);
  if (typeof (schema as { safeParse?: unknown }).safeParse === 'function') return schema as SettingsSchema;
  for (const [name, f] of Object.entries(schema)) {
    const field = f as Record<string, unknown>;
    if (typeof f !== 'object' || f === null || !['string', 'number', 'integer', 'boolean'].includes(String(field.type)))
      throw new ConfigError(`system module ${file}: settingsSchema.${name} needs a type: string, number, integer or boolean`);
    const extra = Object.keys(field).find((k) => !FIELD_KEYS.has(k));
    if (extra) throw new ConfigError(`system module ${file}: settingsSchema.${name}.${extra} is not a field property (known: ${[...FIELD_KEYS].join(', ')})`);
    if (field.default !== undefined) {
      const why = fieldProblem(field as unknown as SettingField, field.default);
      if (why) throw new ConfigError(`system module ${file}: settingsSchema.${name}.default: ${why}`);
    }
  }
  return schema as SettingsSchema;
}

/** Why `v` does not fit `f`, or undefined when it does. */
function fieldProblem(f: SettingField, v: unknown): string | undefined {
  const got = describeValue(v);
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') return `expected a string, got ${got}`;
      if (f.enum && !f.enum.includes(v)) return `expected one of ${f.enum.join(', ')}, got ${got}`;
      return undefined;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `expected true or false, got ${got}`;
    default: {
      if (typeof v !== 'number' || !Number.isFinite(v)) return `expected ${f.type === 'integer' ? 'an integer' : 'a number'}, got ${got}`;
      if (f.type === 'integer' && !Number.isInteger(v)) return `expected an integer, got ${got}`;
      if (f.min !== undefined && v < f.min) return `expected at least ${f.min}, got ${v}`;
      if (f.max !== undefined && v > f.max) return `expected at most ${f.max}, got ${v}`;
      return undefined;
    }
  }
}

/**
 * A cluster spec's `settings:` checked against the module's schema, defaults filled in; errors
 * name the field (`<where>: settings.waitMs: expected an integer, got a string ("x")`). A module
 * without a schema takes no settings.
 */
export function parseModuleSettings(mod: SystemModule, file: string, settings: Record<string, unknown> | undefined, where: string): Record<string, unknown> {
  const given = settings ?? {};
  const schema = mod.settingsSchema;
  if (!schema) {
    const first = Object.keys(given)[0];
    if (first !== undefined) throw new ConfigError(`${where}: settings.${first}: system module ${file} declares no settings (it exports no settingsSchema)`);
    return {};
  }
  if (typeof (schema as { safeParse?: unknown }).safeParse === 'function') {
    const r = (schema as { safeParse(input: unknown): ZodLikeResult }).safeParse(given);
    if (r.success) return (r.data ?? given) as Record<string, unknown>;
    const issue = r.error?.issues?.[0];
    throw new ConfigError(
      `${where}: settings${issue?.path?.length ? `.${issue.path.map(String).join('.')}` : ''}: ${issue?.message ?? "refused by the module's schema"}`,
    );
  }
  const fields = schema as Record<string, SettingField>;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(given)) {
    const f = fields[name];
    if (!f) throw new ConfigError(`${where}: settings.${name}: not a setting of system module ${file} (settings: ${Object.keys(fields).join(', ') || 'none'})`);
    const why = fieldProblem(f, v);
    if (why) throw new ConfigError(`${where}: settings.${name}: ${why}`);
    out[name] = v;
  }
  for (const [name, f] of Object.entries(fields)) {
    if (name in out) continue;
    if (f.default !== undefined) out[name] = f.default;
    else if (!f.optional) throw new ConfigError(`${where}: settings.${name}: required by system module ${file}${f.description ? ` (${f.description})` : ''}`);
  }
  return out;
}

/** The module's words for a mode, checked: a one-line string. */
export function moduleModeText(mod: SystemModule, file: string, spec: ClusterSpec): string | undefined {
  if (mod.describeMode === undefined) return undefined;
  let text: unknown;
  try {
    text = mod.describeMode(spec);
  } catch (e: unknown) {
    throw moduleFailure(file, 'describeMode()', e);
  }
  if (typeof text !== 'string' || text.length === 0 || text.length > 200 || text.includes('\n'))
    throw new ConfigError(`system module ${file}: describeMode() returned ${describeValue(text)}, not one line of at most 200 characters`);
  return text;
}

/** Whether a spec's `system:` names a module file rather than a built-in system. */
export const isModulePath = (system: string) => /^(\.{1,2}\/|\/)/.test(system) || /\.(m|c)?js$/.test(system);

export async function loadSystemModule(file: string): Promise<SystemModule> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e: unknown) {
    throw new ConfigError(`system module ${file} cannot be loaded: ${toError(e).message.split('\n')[0]}`);
  }
  if (typeof mod.up !== 'function') {
    throw new ConfigError(
      `system module ${file} must export a function up(spec, options) that starts the cluster and returns the system (see docs/systems.md); it exports: ${Object.keys(mod).join(', ') || 'nothing'}`,
    );
  }
  validateCapabilities(mod.capabilities, file);
  validateSettingsSchema(mod.settingsSchema, file);
  if (mod.describeMode !== undefined && typeof mod.describeMode !== 'function')
    throw new ConfigError(`system module ${file}: describeMode is ${describeValue(mod.describeMode)}, not a function (spec) → string`);
  return mod as unknown as SystemModule;
}

/** What a value is, for a message about an answer of the wrong kind: `a string ("x")`, `undefined`, `an array`. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)})`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v} (${String(v)})`;
}

/** The first line of what a module threw, whatever it threw. */
function thrownText(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : describeValue(e);
  return text.split('\n')[0] ?? '';
}

/**
 * A module's call that threw: a HarnessError (the module called into replab, which already said
 * what kind of failure it is) keeps its code; anything else is the module's own failure, named.
 */
function moduleFailure(file: string, call: string, e: unknown): Error {
  if (e instanceof HarnessError) return e;
  return new ConfigError(`system module ${file}: ${call} failed: ${thrownText(e)}`);
}

async function calling<T>(file: string, call: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e: unknown) {
    throw moduleFailure(file, call, e);
  }
}

/** Checks what a module's `up` returned; names every missing method. */
export function validateSystem(sys: unknown, file: string): SystemUnderTest {
  const o = (sys ?? {}) as Record<string, unknown>;
  const missing = SYSTEM_METHODS.filter((m) => typeof o[m] !== 'function');
  if (missing.length) throw new ConfigError(`system module ${file}: up() returned an object without ${missing.join(', ')} (see docs/systems.md)`);
  return sys as SystemUnderTest;
}

/** Checks a client from the module's dataClient(); names what is missing. */
export function validateDataClient(client: unknown, file: string): DataClient {
  const wanted = DATA_CLIENT_METHODS.join(', ');
  if (typeof client !== 'object' || client === null || Array.isArray(client))
    throw new ConfigError(`system module ${file}: dataClient() returned ${describeValue(client)}, not a client with ${wanted} (see docs/systems.md)`);
  const c = client as Record<string, (...args: unknown[]) => unknown>;
  const missing = DATA_CLIENT_METHODS.filter((m) => typeof c[m] !== 'function');
  if (missing.length) throw new ConfigError(`system module ${file}: dataClient() returned a client without ${missing.join(', ')} (see docs/systems.md)`);
  // An operation answers ok / fail / info; one that throws instead is the module's failure, named
  // (not an internal error of the workload that called it).
  const out: Record<string, unknown> = {};
  for (const m of DATA_CLIENT_METHODS) out[m] = c[m]!.bind(client);
  for (const m of DATA_OPERATIONS) out[m] = (...args: unknown[]) => calling(file, `the data client's ${m}()`, () => c[m]!(...args));
  return out as unknown as DataClient;
}

/**
 * Checks keepArtefacts()'s answer: per node id, null or why its log was not kept. Node ids name
 * files the checker reads from the run folder (`log-<node>.jsonl`), so they must be plain ids.
 */
function validateArtefacts(kept: unknown, file: string): Record<string, string | null> {
  if (typeof kept !== 'object' || kept === null || Array.isArray(kept))
    throw new ConfigError(
      `system module ${file}: keepArtefacts() returned ${describeValue(kept)}, not an object of node id → null or why its log was not kept`,
    );
  for (const [id, why] of Object.entries(kept)) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id))
      throw new ConfigError(`system module ${file}: keepArtefacts() returned ${JSON.stringify(id)}, which is not a node id`);
    if (why !== null && typeof why !== 'string')
      throw new ConfigError(`system module ${file}: keepArtefacts() returned ${describeValue(why)} for ${id}: null (its log was kept) or a string (why not)`);
  }
  return kept as Record<string, string | null>;
}

/**
 * The module's system as the run sees it: the same methods, bound to the module's object, with
 * the calls whose answers the harness relies on checked, and what they throw named.
 */
function guarded(sys: SystemUnderTest, file: string): SystemUnderTest {
  const o = sys as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const m of [...SYSTEM_METHODS, ...OPTIONAL_METHODS]) if (typeof o[m] === 'function') out[m] = (o[m] as (...args: unknown[]) => unknown).bind(sys);
  Object.defineProperties(out, {
    system: { get: () => sys.system, enumerable: true },
    stateDir: { get: () => sys.stateDir, enumerable: true },
  });
  out.dataClient = async (options?: { refreshMs?: number }) => validateDataClient(await calling(file, 'dataClient()', () => sys.dataClient(options)), file);
  out.down = (options?: { clean?: boolean }) => calling(file, 'down()', () => sys.down(options));
  out.keepArtefacts = async (dir: string) => validateArtefacts(await calling(file, 'keepArtefacts()', () => sys.keepArtefacts(dir)), file);
  return out as unknown as SystemUnderTest;
}

export async function startExternalSystem(file: string, spec: ClusterSpec, options: SystemOptions): Promise<SystemUnderTest> {
  const mod = await loadSystemModule(file);
  const readyMs = options.readyTimeoutMs ?? 30_000;
  // A module may throw before its first await: that is a rejection like any other.
  const starting = Promise.resolve().then(() => mod.up(spec, options));
  const TIMED_OUT = Symbol('timed out');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), readyMs);
  });
  let sys: unknown;
  try {
    sys = await Promise.race([starting, late]);
  } catch (e: unknown) {
    throw moduleFailure(file, 'up()', e);
  } finally {
    clearTimeout(timer);
  }
  if (sys === TIMED_OUT) {
    // A system that arrives after all is stopped; its processes are the run's to stop either way.
    starting.then((s) => (s as { down?: () => Promise<void> } | undefined)?.down?.()).catch(() => {});
    throw new EnvironmentError(`system module ${file}: up() did not return within ${readyMs / 1000} s (readyTimeoutSec)`);
  }
  try {
    return guarded(validateSystem(sys, file), file);
  } catch (e: unknown) {
    await (sys as { down?: () => Promise<void> } | undefined)?.down?.().catch(() => {});
    throw e;
  }
}
