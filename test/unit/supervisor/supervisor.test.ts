import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { resolveConfig } from '../../../src/core/options.ts';
import { STABLE_AFTER_MS, Supervisor } from '../../../src/supervisor/supervisor.ts';
import type { SpawnThread, WorkerThread } from '../../../src/supervisor/worker-handle.ts';
import type { WorkerCommand, WorkerInit } from '../../../src/worker/worker-messages.ts';

/** A worker thread stand-in: the test decides when it listens, fails or exits. */
class FakeThread extends EventEmitter implements WorkerThread {
  readonly init: WorkerInit;
  readonly commands: WorkerCommand[] = [];
  #exited = false;

  constructor(init: WorkerInit) {
    super();
    this.init = init;
  }

  postMessage(command: WorkerCommand): void {
    this.commands.push(command);
    // A real worker closes its app, reports it, and is then terminated by the handle.
    if (command.type === 'close') setImmediate(() => this.emit('message', { type: 'closed' }));
  }

  terminate(): Promise<number> {
    setImmediate(() => this.exit(1));
    return Promise.resolve(1);
  }

  unref(): void {}

  listen(port: number): void {
    this.emit('message', { type: 'listening', port });
  }

  /** Fails as an uncaught error in the worker would: a fatal report, then the thread ends. */
  crash(): void {
    this.emit('message', { type: 'fatal', error: { code: 'ERR_TEST_CRASH', message: 'crashed' } });
    this.exit(1);
  }

  exit(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.emit('exit', code);
  }
}

const PORT = 43210;
const INITIAL_MS = 100;
const MAX_MS = 400;
const logger = pino({ level: 'silent' });
/** Lets promise continuations and setImmediate callbacks run (setImmediate is not mocked). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function rig(workers = 1) {
  const threads: FakeThread[] = [];
  const spawnThread: SpawnThread = (_entry, init) => {
    const thread = new FakeThread(init);
    threads.push(thread);
    return thread;
  };
  const config = resolveConfig({ workers, listen: { port: 0 }, restart: { initialMs: INITIAL_MS, maxMs: MAX_MS } });
  const supervisor = new Supervisor(config, logger, spawnThread);
  return { supervisor, threads, last: () => threads.at(-1)! };
}

async function started(workers = 1) {
  const r = rig(workers);
  const start = r.supervisor.start();
  await settle(); // the route table first (a microtask without dynamic routes), then the first worker
  r.threads[0]!.listen(PORT);
  await settle();
  for (const thread of r.threads.slice(1)) thread.listen(PORT);
  await start;
  return r;
}

/**
 * Advances the clock to just before `delayMs` and asserts no new thread yet, then to `delayMs` and asserts exactly
 * one: the restart came after exactly that delay.
 */
function assertRestartAfter(threads: FakeThread[], delayMs: number): FakeThread {
  const before = threads.length;
  mock.timers.tick(delayMs - 1);
  assert.equal(threads.length, before, `no restart before ${delayMs} ms`);
  mock.timers.tick(1);
  assert.equal(threads.length, before + 1, `a restart at ${delayMs} ms`);
  return threads.at(-1)!;
}

describe('Supervisor restart policy', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('starts the first worker on the configured port, then the others on the port it bound', async () => {
    const { supervisor, threads } = await started(3);
    assert.equal(supervisor.port, PORT);
    assert.deepEqual(threads.map((t) => t.init.port), [0, PORT, PORT]);
    assert.deepEqual(threads.map((t) => t.init.index), [0, 1, 2]);
    assert.equal(supervisor.ready, true);
    await supervisor.close(0);
  });

  it('restarts a worker that keeps failing quickly with doubling delays, capped at restart.maxMs', async () => {
    const { supervisor, threads, last } = await started();
    const delays = [INITIAL_MS, 2 * INITIAL_MS, 4 * INITIAL_MS, MAX_MS, MAX_MS];
    for (const delay of delays) {
      last().crash();
      assert.equal(supervisor.ready, false, 'not ready while a worker is down');
      const next = assertRestartAfter(threads, delay);
      assert.equal(next.init.port, PORT, 'restarted on the shared port');
      assert.equal(next.init.index, 0);
      next.listen(PORT);
      await settle();
      assert.equal(supervisor.ready, true);
      mock.timers.tick(10); // up briefly: still a quick failure
    }
    assert.equal(supervisor.status()[0]!.restarts, delays.length);
    await supervisor.close(0);
  });

  it('counts a restarted worker that fails before it listens as one more quick failure', async () => {
    const { supervisor, threads, last } = await started();
    last().crash();
    assertRestartAfter(threads, INITIAL_MS).crash(); // fails during start: the spawn rejects
    await settle();
    assertRestartAfter(threads, 2 * INITIAL_MS).crash();
    await settle();
    assertRestartAfter(threads, 4 * INITIAL_MS).listen(PORT);
    await settle();
    assert.equal(supervisor.status()[0]!.state, 'running');
    await supervisor.close(0);
  });

  it('resets the backoff of a worker that stayed up past the stable time, and only then', async () => {
    const { supervisor, threads, last } = await started();
    last().crash();
    assertRestartAfter(threads, INITIAL_MS).listen(PORT);
    await settle();
    last().crash();
    assertRestartAfter(threads, 2 * INITIAL_MS).listen(PORT);
    await settle();
    mock.timers.tick(STABLE_AFTER_MS - 1_000);
    last().crash();
    assertRestartAfter(threads, 4 * INITIAL_MS).listen(PORT);
    await settle();
    mock.timers.tick(STABLE_AFTER_MS + 1);
    last().crash();
    assertRestartAfter(threads, INITIAL_MS).listen(PORT);
    await settle();
    last().crash();
    assertRestartAfter(threads, 2 * INITIAL_MS);
    await supervisor.close(0);
  });

  it('restarts only the worker that failed', async () => {
    const { supervisor, threads } = await started(3);
    threads[1]!.crash();
    const next = assertRestartAfter(threads, INITIAL_MS);
    assert.equal(next.init.index, 1);
    next.listen(PORT);
    await settle();
    assert.deepEqual(supervisor.status().map((s) => s.restarts), [0, 1, 0]);
    await supervisor.close(0);
  });

  it('drains a worker restarted during a drain as soon as it listens', async () => {
    const { supervisor, threads, last } = await started();
    void supervisor.drain({ windowMs: 0, preDrainDelayMs: 0, timeoutMs: 10_000, reconnectAfterMs: 250, url: 'ws://elsewhere' });
    last().crash();
    const next = assertRestartAfter(threads, INITIAL_MS);
    next.listen(PORT);
    await settle();
    assert.deepEqual(next.commands, [{ type: 'drain', reconnectAfterMs: 250, url: 'ws://elsewhere' }]);
    assert.equal(supervisor.status()[0]!.state, 'draining');
    await supervisor.close(0);
  });

  it('a worker restarted during a paced drain spreads its sessions over what is left of the window', async () => {
    const { supervisor, threads } = await started(2);
    void supervisor.drain({ windowMs: 1000, preDrainDelayMs: 0, timeoutMs: 10_000, reconnectAfterMs: 1000, url: '' });
    assert.deepEqual(threads[1]!.commands, [
      { type: 'drain', reconnectAfterMs: 1000, url: '', spread: { windowMs: 1000, fromMs: 0, counts: [0, 0] } },
    ]);
    threads[1]!.crash();
    const next = assertRestartAfter(threads, INITIAL_MS);
    next.listen(PORT);
    await settle();
    const spread = { windowMs: 1000, fromMs: INITIAL_MS, counts: [0, 0] };
    assert.deepEqual(next.commands, [{ type: 'drain', reconnectAfterMs: 1000, url: '', spread }]);
    await supervisor.close(0);
  });

  it('is not ready from drain() on, but sends DRAIN only after the pre-drain delay', async () => {
    const { supervisor, threads } = await started();
    assert.equal(supervisor.ready, true);
    void supervisor.drain({ windowMs: 0, preDrainDelayMs: 500, timeoutMs: 10_000, reconnectAfterMs: 1000, url: '' });
    assert.equal(supervisor.ready, false);
    assert.equal(supervisor.drainProgress().state, 'pre-drain');
    mock.timers.tick(499);
    assert.deepEqual(threads[0]!.commands, []);
    mock.timers.tick(1);
    assert.deepEqual(threads[0]!.commands, [{ type: 'drain', reconnectAfterMs: 1000, url: '' }]);
    assert.equal(supervisor.drainProgress().state, 'draining');
    await supervisor.close(0);
    assert.equal(supervisor.drainProgress().state, 'closed');
  });

  it('does not restart a worker once close() began, even with a restart already scheduled', async () => {
    const { supervisor, threads, last } = await started();
    last().crash();
    await supervisor.close(0);
    mock.timers.tick(MAX_MS * 10);
    await settle();
    assert.equal(threads.length, 1);
    assert.equal(supervisor.status()[0]!.state, 'stopped');
  });
});
