/**
 * Systems supplied by the user: a cluster spec may say `system: ./my-system.js`, a module of the
 * user's own that exports `up(spec, options)` returning an object with the SystemUnderTest methods
 * (docs/systems.md). It is loaded and checked before a run starts: a module that does not load,
 * has no `up`, or returns an object missing methods is bad input (exit 2) naming what is missing.
 */
import { pathToFileURL } from 'node:url';
import type { UpOptions } from '../cluster/replab-cluster.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { ConfigError } from '../lib/errors.js';
import type { SystemUnderTest } from './system.js';

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

export interface SystemModule {
  up(spec: ClusterSpec, options: UpOptions): Promise<SystemUnderTest>;
}

/** Whether a spec's `system:` names a module file rather than a built-in system. */
export const isModulePath = (system: string) => /^(\.{1,2}\/|\/)/.test(system) || /\.(m|c)?js$/.test(system);

export async function loadSystemModule(file: string): Promise<SystemModule> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e: unknown) {
    throw new ConfigError(`system module ${file} cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof mod.up !== 'function') {
    throw new ConfigError(
      `system module ${file} must export a function up(spec, options) that starts the cluster and returns the system (see docs/systems.md); it exports: ${Object.keys(mod).join(', ') || 'nothing'}`,
    );
  }
  return mod as unknown as SystemModule;
}

/** Checks what a module's `up` returned; names every missing method. */
export function validateSystem(sys: unknown, file: string): SystemUnderTest {
  const o = (sys ?? {}) as Record<string, unknown>;
  const missing = SYSTEM_METHODS.filter((m) => typeof o[m] !== 'function');
  if (missing.length) throw new ConfigError(`system module ${file}: up() returned an object without ${missing.join(', ')} (see docs/systems.md)`);
  return sys as SystemUnderTest;
}

export async function startExternalSystem(file: string, spec: ClusterSpec, options: UpOptions): Promise<SystemUnderTest> {
  const mod = await loadSystemModule(file);
  const sys = await mod.up(spec, options);
  try {
    return validateSystem(sys, file);
  } catch (e: unknown) {
    await (sys as { down?: () => Promise<void> } | undefined)?.down?.().catch(() => {});
    throw e;
  }
}
