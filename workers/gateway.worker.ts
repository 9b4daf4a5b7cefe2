/**
 * Worker thread entry: a thin adapter between `parentPort` and a WorkerActor. No logic lives here.
 * On every fatal path the actor's uWS app is closed before the thread ends (this uWS build aborts the process
 * otherwise).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../src/core/logger.ts';
import { errorToWire } from '../src/core/errors.ts';
import { WorkerActor } from '../src/worker/worker-actor.ts';
import type { WorkerCommand, WorkerEvent, WorkerInit } from '../src/worker/worker-messages.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const logger = createLogger(init.config.log, { worker: init.index });
const post = (event: WorkerEvent) => port.postMessage(event);
const actor = new WorkerActor(init, logger, post);

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

port.on('message', (command: WorkerCommand) => {
  if (failing) return;
  // After 'close' the actor posts 'closed' (its app closed by then) and the supervisor ends the thread.
  actor.handle(command);
});

try {
  actor.start();
} catch (err) {
  fail(err);
}
