/** A verdict against a target, and the row the suite's goals table shows it in. */
import { fmt, ms, ratio } from '../lib/markdown.ts';

/**
 * "met" or "missed by 2.3×" / "missed by 0.4 ms"; `higher` says which way is better. A latency added below zero (the
 * gateway's p99 under the bare echo's at the same rate) is noise larger than the effect: the run cannot tell.
 */
export function verdict(value: number, goal: number, higher: boolean, unit: 'ratio' | 'us' | 'bytes'): string {
  if (!Number.isFinite(value) || (unit === 'bytes' && value <= 0)) return 'not measured';
  if (unit === 'us' && value < 0) return 'not resolved: below the bare echo’s own p99 (the run’s noise is larger than the effect)';
  const met = higher ? value >= goal : value <= goal;
  if (met) return 'met';
  if (unit === 'us') return `missed by ${ms(value - goal)} ms`;
  if (unit === 'bytes') return `missed by ${fmt(value - goal)} B (${ratio(value / goal, 2)} the target)`;
  return higher ? `missed: ${ratio(value / goal)} of the target` : `missed by ${fmt((value / goal - 1) * 100, 1)}%`;
}

export interface GoalRow {
  name: string;
  measured: string;
  goal: string;
  verdict: string;
  /** For the closing text: a missed goal's one-line explanation from the figures. */
  missed: boolean;
}
