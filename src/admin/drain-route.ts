/**
 * `/admin/drain` on the admin port: `POST` starts the gateway's drain (as `Gateway.drain()` and the first SIGTERM
 * do; idempotent), optionally with its own window; `GET` reads its progress (`Supervisor.drainProgress()`). Both
 * need an admin key when `admin.apiKeys` is set.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeys } from '../core/api-keys.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { admitRequest } from './http-api-key.ts';

/** A drain request's body is a small JSON object: anything longer is refused rather than read. */
const MAX_BODY_BYTES = 4096;
const MAX_WINDOW_MS = 3_600_000;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** `windowMs` from the query or the JSON body (the body wins); throws the 400 answer's message. */
function windowOf(url: URL, body: string): number | undefined {
  let raw: unknown = url.searchParams.get('windowMs') ?? undefined;
  if (raw !== undefined) raw = /^\d+$/.test(raw as string) ? Number(raw) : raw;
  if (body.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new Error('the body must be a JSON object, like {"windowMs": 10000}');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('the body must be a JSON object');
    }
    const unknown = Object.keys(parsed).filter((key) => key !== 'windowMs');
    if (unknown.length > 0) throw new Error(`unknown field ${unknown[0]} (expected windowMs)`);
    if ('windowMs' in parsed) raw = (parsed as { windowMs: unknown }).windowMs;
  }
  if (raw === undefined) return undefined;
  if (!Number.isInteger(raw) || (raw as number) < 0 || (raw as number) > MAX_WINDOW_MS) {
    throw new Error(`windowMs must be an integer between 0 and ${MAX_WINDOW_MS}, got ${JSON.stringify(raw)}`);
  }
  return raw as number;
}

export function handleDrainRoute(
  supervisor: Supervisor,
  keys: ApiKeys,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
    res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
    return;
  }
  if (!admitRequest(keys, 'admin', req, res)) return;
  if (req.method !== 'POST') return json(res, 200, supervisor.drainProgress());
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES) return json(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
    let windowMs: number | undefined;
    try {
      windowMs = windowOf(new URL(req.url ?? '/', 'http://admin'), Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return json(res, 400, { error: (err as Error).message });
    }
    const started = supervisor.drainProgress().state === 'none';
    if (started) {
      if (supervisor.drainHandler === undefined) {
        return json(res, 503, { error: 'this gateway cannot be drained from here' });
      }
      supervisor.drainHandler(windowMs === undefined ? {} : { windowMs });
    }
    json(res, 202, { started, drain: supervisor.drainProgress() });
  });
}
