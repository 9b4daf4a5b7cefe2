/**
 * `actorgate drain`: asks a running gateway to drain through its admin port (`POST /admin/drain`, the key from
 * ACTORGATE_ADMIN_KEY), then follows `GET /admin/drain` until the drain is over or the gateway is gone. Made for a
 * Kubernetes preStop hook: it returns when the instance has let its clients go. Exit codes: 0 drained, 1 refused or
 * unreachable (the message says which), 2 bad command line.
 */
export interface DrainSettings {
  /** The admin port's base URL. */
  admin: string;
  /** Overrides shutdown.drainWindowMs. */
  windowMs?: number;
  /** Sent as x-api-key. */
  key?: string;
}

interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

interface Progress {
  state: string;
  windowMs: number;
  preDrainDelayMs: number;
  deadlineAt: number | null;
  sessionsAtStart: number;
  sessionsRemaining: number;
  closedByGateway: number;
}

/** Past the drain's own deadline, how long the gateway gets to close before the command gives up. */
const CLOSE_GRACE_MS = 30_000;

function reasonOf(text: string): string {
  try {
    const body = JSON.parse(text) as { code?: number; name?: string; reason?: string; error?: string };
    if (body.name !== undefined) return `${body.code} ${body.name}: ${body.reason ?? ''}`.trim();
    if (body.error !== undefined) return body.error;
  } catch {
    // not JSON: the text as it is
  }
  return text.trim();
}

function summary(p: Progress): string {
  return `${p.sessionsRemaining} of ${p.sessionsAtStart} sessions open, ${p.closedByGateway} closed by the gateway`;
}

export async function runDrain(settings: DrainSettings, io: Io, pollMs = 250): Promise<number> {
  const url = `${settings.admin.replace(/\/+$/, '')}/admin/drain`;
  const headers: Record<string, string> = settings.key === undefined ? {} : { 'x-api-key': settings.key };
  let response: Response;
  try {
    const body = settings.windowMs === undefined ? undefined : JSON.stringify({ windowMs: settings.windowMs });
    response = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  } catch (err) {
    io.stderr.write(`actorgate: drain: cannot reach ${url}: ${(err as Error).cause ?? (err as Error).message}\n`);
    return 1;
  }
  const text = await response.text();
  if (response.status !== 202) {
    const keyHint = settings.key === undefined ? ' (set ACTORGATE_ADMIN_KEY)' : ' (check ACTORGATE_ADMIN_KEY)';
    const hint = response.status === 401 ? keyHint : '';
    io.stderr.write(`actorgate: drain refused by ${url}: HTTP ${response.status} ${reasonOf(text)}${hint}\n`);
    return 1;
  }
  const answer = JSON.parse(text) as { started: boolean; drain: Progress };
  const first = answer.drain;
  const how = first.windowMs === 0 ? 'all at once' : `over ${first.windowMs} ms`;
  const delay = first.preDrainDelayMs > 0 ? ` after a ${first.preDrainDelayMs} ms pre-drain delay` : '';
  io.stdout.write(`actorgate: ${answer.started ? 'drain started' : 'already draining'}: reconnects ${how}${delay}\n`);
  const giveUpAt = (first.deadlineAt ?? Date.now()) + CLOSE_GRACE_MS;
  let last = '';
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    let progress: Progress;
    try {
      const poll = await fetch(url, { headers });
      if (!poll.ok) throw new Error(`HTTP ${poll.status}`);
      progress = (await poll.json()) as Progress;
    } catch {
      // The admin port closes with the gateway, at the end of its drain.
      io.stdout.write(`actorgate: drained: the gateway has closed\n`);
      return 0;
    }
    const line = summary(progress);
    if (line !== last) io.stdout.write(`  ${progress.state}: ${line}\n`);
    last = line;
    if (progress.state === 'closed') {
      io.stdout.write(`actorgate: drained\n`);
      return 0;
    }
    if (Date.now() > giveUpAt) {
      io.stderr.write(`actorgate: drain: the gateway has not closed ${CLOSE_GRACE_MS} ms past its drain deadline\n`);
      return 1;
    }
  }
}
