/**
 * Child side of a benchmark child process (see child-process.ts): announce readiness with one JSON line on stdout,
 * answer the parent's requests, and stop on `stop`, on SIGTERM, or when the parent is gone (the IPC channel closes
 * even when the parent is killed), so no child outlives its benchmark.
 */
interface Incoming {
  id: number;
  type: string;
}

/** Answers one request; the result is sent back with the request's id. Throwing sends `{ error }`. */
export type RequestHandler = (request: Incoming) => object | Promise<object>;

export function announceReady(info: object): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

/** Serves the parent's requests until `stop`; `cleanup` runs once, then the process exits (forced after `deadlineMs`). */
export function serveParent(handler: RequestHandler, cleanup: () => Promise<void>, deadlineMs = 5000): void {
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code === 0 ? 1 : code), deadlineMs);
    cleanup().then(
      () => process.exit(code),
      (err: Error) => {
        process.stderr.write(`cleanup failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('message', (message: Incoming) => {
    if (message.type === 'stop') return stop(0);
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (answer) => process.send?.({ ...answer, id: message.id }),
        (err: Error) => process.send?.({ id: message.id, error: err.message }),
      );
  });
  process.on('disconnect', () => stop(2));
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(130));
}
