/**
 * Worker thread entry: a thin adapter between `parentPort` and a WorkerActor. No logic lives here.
 * On every path that ends the thread the actor's uWS app is closed first (this uWS build aborts the process
 * otherwise): fatal errors abort the actor before exiting, and a close that has not finished by its watchdog
 * deadline is turned into the same synchronous abort, so the supervisor never has to end a thread whose app is open.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, flushLogsSync } from '../src/core/logger.ts';
import { WorkerCounters, WorkerSlot } from '../src/core/counters.ts';
import { errorToWire } from '../src/core/errors.ts';
import { CLOSE_WATCHDOG_SLACK_MS } from '../src/core/options.ts';
import { WorkerActor } from '../src/worker/worker-actor.ts';
import { loadTracing } from '../src/tracing/load-tracing.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from '../src/worker/worker-messages.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const counters = new WorkerCounters(init.counters).worker;
const logger = createLogger(init.config.log, { worker: init.index }, () => counters[WorkerSlot.LOG_DROPPED]++);
const post = (event: WorkerEvent) => port.postMessage(event);
// Before the actor exists, so that its first session is traced like any other (the supervisor's messages wait).
const gateName = `${init.config.name}/${init.index}`;
const tracing = await loadTracing(init.config.tracing, counters, gateName, init.index, logger);
const actor = new WorkerActor(init, logger, post, tracing);

let failing = false;
function fail(err: unknown): void {
  if (failing) return;
  failing = true;
  // Deferred: the throw may come from inside a uWS callback, where closing the app is unsafe.
  setImmediate(() => {
    try {
      actor.abort(err);
    } finally {
      post({ type: 'fatal', error: errorToWire(err) });
      logger.flush();
      process.exit(1);
    }
  });
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

let closing = false;
function close(command: Extract<WorkerCommand, { type: 'close' }>): void {
  if (closing) return;
  closing = true;
  let reported = false;
  const report = () => {
    if (reported) return;
    reported = true;
    clearTimeout(watchdog);
    flushLogsSync(); // the supervisor terminates the thread next, which runs no exit handlers
    post({ type: 'closed' });
  };
  // A close still pending here is stuck (the backend flush is bounded by flushTimeoutMs): close the app now.
  const watchdog = setTimeout(() => {
    failing = true;
    try {
      actor.abort(new Error(`close did not finish within ${command.flushTimeoutMs + CLOSE_WATCHDOG_SLACK_MS} ms`));
    } finally {
      report();
    }
  }, command.flushTimeoutMs + CLOSE_WATCHDOG_SLACK_MS);
  actor.close(command.flushTimeoutMs, command.code).then(report, fail);
}

port.on('message', (command: WorkerCommand) => {
  if (failing) return;
  // After 'close' the worker posts 'closed' (its app closed by then) and the supervisor ends the thread.
  if (command.type === 'close') close(command);
  else actor.handle(command);
});

try {
  actor.start();
} catch (err) {
  fail(err);
}
