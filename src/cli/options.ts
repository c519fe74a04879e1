/** Validators for CLI flag values: each throws a UsageError naming the flag, what it accepts and what it got. */
import { UsageError } from '../lib/errors.js';

export function intFlag(flag: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new UsageError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

export function choiceFlag<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    const chosen = choices.find((c) => c === value);
    if (chosen === undefined) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${value}"`);
    return chosen;
  };
}

export function listFlag(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
