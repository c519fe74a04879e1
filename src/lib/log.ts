/**
 * Structured logs (pino, JSON lines on stdout). Nodes and the monitor log every step with a
 * timestamp so a report can reconstruct detection, promotion and recovery times from the files.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(name: string, level: string = process.env.REPLAB_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { name } });
}

/** A logger that drops everything, for in-process use (tests, benchmarks) where output is noise. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
