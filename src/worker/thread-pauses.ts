/**
 * What holds up every session of a worker at once, measured on the worker's own thread: how late its event loop runs
 * (LoopDelay) and the garbage-collection pauses that stop it (GcPauses), each into the worker's shared counters. They
 * start together when the worker starts and stop together when it enters `closed`, its one exit state (a close, a
 * fatal error, a failed start and the close watchdog all end there).
 */
import { GcPauses } from './gc-pauses.ts';
import { LoopDelay } from './loop-delay.ts';

export class ThreadPauses {
  readonly loopDelay: LoopDelay;
  readonly gc: GcPauses;

  constructor(counters: Float64Array) {
    this.loopDelay = new LoopDelay(counters);
    this.gc = new GcPauses(counters);
  }

  start(): void {
    this.loopDelay.start();
    this.gc.start();
  }

  /** Takes the last samples of each into the counters and stops both. Idempotent. */
  stop(): void {
    this.loopDelay.stop();
    this.gc.stop();
  }
}
