/** A suite run's figures as bench/results/suite.json holds them, and the lookups every part of the report uses. */
import type { ProfileSummary } from '../lib/cpu-profile.ts';
import type { MachineFacts } from '../lib/machine.ts';
import type { FairnessResult } from './fairness.ts';
import { TARGETS } from './rig.ts';
import type { HolResult, LatencyResult, MemoryResult, ThroughputResult } from './scenarios.ts';
import type { WakeupCost } from './wakeup-cost-process.ts';
import type { PushScaleResult } from './push-scale.ts';

export interface SuiteResult {
  command: string;
  machine: MachineFacts;
  settings: Record<string, unknown> & {
    warmupMs: number;
    measureMs: number;
    connections: number;
    windows: Record<string, number>;
    latencyPayload: number;
    holConnections: { a: number; b: number };
    holPayload: number;
    holRounds: number;
    holLoad: number;
  };
  loadgenThreads: number;
  /** Which load generator measured (absent in runs from before the native one: the Node one), and why not the native one. */
  loadgen?: { generator: 'native' | 'node'; fallback?: string };
  throughput: ThroughputResult[];
  latency: LatencyResult[];
  isolation: HolResult[];
  /** Absent in runs from before the fairness scenario. */
  fairness?: FairnessResult[];
  memory: MemoryResult[];
  wakeup: WakeupCost;
  /** Absent in runs from before the push-scale scenario. */
  pushScale?: PushScaleResult;
  profile: { summary: ProfileSummary; payloadBytes: number; seconds: number } | null;
  durationSeconds: number;
}

export const label = (key: string) => TARGETS.find((t) => t.key === key)?.label ?? key;
export const size = (bytes: number) => (bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);

export function tp(result: SuiteResult, key: string, payloadBytes: number): ThroughputResult | undefined {
  return result.throughput.find((r) => r.target === key && r.payloadBytes === payloadBytes);
}

export function lat(result: SuiteResult, key: string, fraction: number | null): LatencyResult | undefined {
  return result.latency.find((r) => r.target === key && r.fraction === fraction);
}

/** `key`'s run at `fraction` of actorgate's (2 workers) maximum rate, not its own. */
export function refLat(result: SuiteResult, key: string, fraction: number): LatencyResult | undefined {
  return result.latency.find((r) => r.target === key && r.fraction === null && (r.referenceFraction ?? 0.5) === fraction);
}
