/**
 * `POST /v1/push` on the admin port: the Push call over HTTP/1.1. The body is either JSON
 * (`application/json`: `{ "pushes": [ { "topic": "room.1", "msgId": 1, "serverId": 256, "payload": "<base64>" } ] }`,
 * or a single push object) or msgpack (`application/msgpack` or `application/x-msgpack`: the same shape, payload as
 * bin). The answer is the PushSummary, in the request's format. A session id is a decimal string, or in msgpack also
 * an integer (64-bit ones decode as bigints).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Packr } from 'msgpackr';
import type { PushInput } from './push-item.ts';
import type { PushRouter } from './push-router.ts';

export const MAX_HTTP_PUSH_BYTES = 4 * 1024 * 1024;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

function isMsgpack(type: string | undefined): boolean {
  return type !== undefined && /^application\/(x-)?msgpack\b/.test(type);
}

/**
 * Another language's msgpack encoder may write a small number as a 64-bit int, which msgpackr decodes as a bigint;
 * one that fits 32 bits is taken as the number it is. Anything else is left for toPushItem to refuse (invalid).
 */
function smallInt(value: unknown): unknown {
  return typeof value === 'bigint' && value >= 0n && value <= 0xffffffffn ? Number(value) : value;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Standard base64 (RFC 4648 §4, padding optional), decoded; undefined for anything else. Node's decoder skips what it
 * does not understand, so the text is checked first and must be what its bytes encode to (no stray bits).
 */
function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const canonical = bytes.toString('base64');
  const padded = text.includes('=') ? text : text + '='.repeat((4 - (text.length % 4)) % 4);
  return canonical === padded ? bytes : undefined;
}

/** Turns a decoded body into push inputs; throws a message for the 400 answer. */
export function pushInputsOf(body: unknown, json: boolean): PushInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('body must be an object: { "pushes": [...] } or one push');
  const pushes = (body as { pushes?: unknown }).pushes;
  if (pushes !== undefined && !Array.isArray(pushes)) throw new Error('pushes must be an array');
  const list: unknown[] = pushes ?? [body];
  return list.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`pushes[${i}] must be an object`);
    const push = raw as Record<string, unknown>;
    let payload: Uint8Array | undefined;
    if (push.payload !== undefined) {
      if (json) {
        payload = typeof push.payload === 'string' ? decodeBase64(push.payload) : undefined;
        if (payload === undefined) throw new Error(`pushes[${i}].payload must be a base64 string`);
      } else {
        if (!(push.payload instanceof Uint8Array)) throw new Error(`pushes[${i}].payload must be bin`);
        payload = push.payload;
      }
    }
    for (const key of ['userId', 'topic'] as const) {
      if (push[key] !== undefined && push[key] !== null && typeof push[key] !== 'string') throw new Error(`pushes[${i}].${key} must be a string`);
    }
    // Session ids exceed 2^53: msgpack carries them as (u)int64, which msgpackr decodes as a bigint. JSON cannot
    // carry them as numbers without losing bits, so there they are decimal strings (an unsafe number is dropped as
    // invalid by toPushItem, not guessed at).
    const { sessionId } = push;
    if (sessionId !== undefined && sessionId !== null && typeof sessionId !== 'string' && typeof sessionId !== 'number' && typeof sessionId !== 'bigint') {
      throw new Error(`pushes[${i}].sessionId must be a decimal string${json ? '' : ' or an integer'}`);
    }
    return {
      sessionId,
      userId: push.userId as string | undefined,
      topic: push.topic as string | undefined,
      msgId: smallInt(push.msgId) as number | undefined,
      serverId: smallInt(push.serverId) as number | undefined,
      payload,
    };
  });
}

export function handleHttpPush(router: PushRouter, req: IncomingMessage, res: ServerResponse): void {
  const msgpack = isMsgpack(req.headers['content-type']);
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.byteLength;
    if (size > MAX_HTTP_PUSH_BYTES) {
      // Answer, stop buffering, read the rest into the void; the connection closes once the answer is out.
      refused = true;
      chunks.length = 0;
      res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end(`body over ${MAX_HTTP_PUSH_BYTES} bytes\n`);
      res.on('finish', () => req.destroy());
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    let summaryPromise;
    try {
      const raw = Buffer.concat(chunks);
      summaryPromise = router.route(pushInputsOf(msgpack ? packr.unpack(raw) : JSON.parse(raw.toString('utf8')), !msgpack));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad push body: ${(err as Error).message}\n`);
      return;
    }
    void summaryPromise.then((summary) => {
      if (msgpack) res.writeHead(200, { 'content-type': 'application/msgpack' }).end(packr.pack(summary));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(summary));
    });
  });
}
