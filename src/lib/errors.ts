/**
 * The three kinds of failure replab distinguishes:
 * - bad input → `UsageError` / `ConfigError` (exit 2), message names where, what is accepted, what came;
 * - environment → `EnvironmentError` (exit 4), carrying log path and recent output when there is one;
 * - bugs → `assert` in lib/assert.ts, never caught.
 * Only `cli/main.ts` catches everything; elsewhere a `HarnessError` travels up as data-with-a-code.
 */

export const ExitCode = {
  ok: 0,
  invalid: 1,
  usage: 2,
  unknown: 3,
  environment: 4,
  internal: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class HarnessError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A bad CLI flag or argument. */
export class UsageError extends HarnessError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A bad spec, history or other input file. */
export class ConfigError extends HarnessError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Something outside replab failed: a port in use, a process that exited, Docker unreachable. */
export class EnvironmentError extends HarnessError {
  readonly logPath: string | undefined;
  readonly recentOutput: string | undefined;
  constructor(message: string, options: { logPath?: string; recentOutput?: string } = {}) {
    const tail = options.recentOutput ? `\n--- last lines of ${options.logPath ?? 'output'} ---\n${options.recentOutput}` : '';
    super(message + tail, ExitCode.environment);
    this.logPath = options.logPath;
    this.recentOutput = options.recentOutput;
  }
}

/** Normalises anything thrown into an Error (a thrown string or object becomes its text). */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(typeof e === 'string' ? e : JSON.stringify(e));
}

/** The Node error code (ENOENT, EADDRINUSE, …) of anything thrown, when it carries one. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
