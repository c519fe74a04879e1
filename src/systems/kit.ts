/**
 * What a user's system module may import from replab (`import { … } from 'replab/system'`):
 * the contract's types, the fault proxy helper, link names, process signals by pid, and the
 * event names. docs/systems.md describes each; nothing here reaches into replab's internals, so a
 * module written against it keeps working as replab changes inside.
 */

export type { Outcome } from '../client/kv-http.js';
export { isRunning, killHard as killProcess, stopGracefully as stopProcess } from '../cluster/process-control.js';
export type { ClusterSpec } from '../cluster/spec.js';
export { clientLink, monitorLink, replInto, replLink } from '../faults/links.js';
export type { Toxiproxy } from '../faults/toxiproxy.js';
export type { DataClient, ReadRequest } from '../workloads/data-client.js';
export { DISCARD_EVENTS, type EventSink, SYSTEM_EVENTS, type SystemEvent, type SystemEventName } from './events.js';
export { DATA_CLIENT_METHODS, OPTIONAL_METHODS, type SettingField, type SettingsSchema, SYSTEM_METHODS } from './external.js';
export { type ClusterLinks, FaultProxy, faultProxy, LINK_KINDS, type ProxyLinkKind } from './fault-proxy.js';
export { pauseProcess, resumeProcess } from './processes.js';
export { DEFAULT_CAPABILITIES, LAG_UNITS, type LagSample, type LagUnit, type SystemCapabilities, type SystemOptions, type SystemUnderTest } from './system.js';
