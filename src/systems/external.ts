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
import type { UpOptions } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { ConfigError, EnvironmentError, HarnessError, toError } from '../lib/errors.js';
import type { DataClient } from '../workloads/data-client.js';
import type { SystemCapabilities, SystemUnderTest } from './system.js';

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

/** Every method a client from dataClient() must have (src/workloads/data-client.ts). */
export const DATA_CLIENT_METHODS = ['read', 'write', 'cas', 'add', 'scan', 'nodeIds', 'noteLeaderHint', 'refresh', 'close'] as const;
/** The client's data operations: each resolves to an outcome, never throws (docs/systems.md). */
const DATA_OPERATIONS = ['read', 'write', 'cas', 'add', 'scan'] as const;

export interface SystemModule {
  up(spec: ClusterSpec, options: UpOptions): Promise<SystemUnderTest>;
  /** What the system can measure (docs/systems.md); a metric it declares false reads "not measured". */
  capabilities?: Partial<SystemCapabilities>;
}

/** Checks a module's exported `capabilities`: an object of known names, each a boolean. */
function validateCapabilities(caps: unknown, file: string): Partial<SystemCapabilities> | undefined {
  if (caps === undefined) return undefined;
  if (typeof caps !== 'object' || caps === null || Array.isArray(caps))
    throw new ConfigError(`system module ${file}: capabilities is ${describeValue(caps)}, not an object such as { splitBrainWrites: false }`);
  for (const [k, v] of Object.entries(caps)) {
    if (k !== 'splitBrainWrites') throw new ConfigError(`system module ${file}: capabilities.${k} is not a capability (known: splitBrainWrites)`);
    if (typeof v !== 'boolean') throw new ConfigError(`system module ${file}: capabilities.${k} is ${describeValue(v)}, not true or false`);
  }
  return caps as Partial<SystemCapabilities>;
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

export async function startExternalSystem(file: string, spec: ClusterSpec, options: UpOptions): Promise<SystemUnderTest> {
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
