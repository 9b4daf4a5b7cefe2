/** A push receiver's session as the push benchmarks hold it, and what its control frames do to it. */
import { decodeControl } from '../../src/protocol/control.ts';
import type { RawWsClient } from './raw-ws-client.ts';

export interface ReceiverSession {
  client: RawWsClient | undefined;
  worker: number;
  welcomed: () => void;
  subscribed: (code: number) => void;
}

/** WELCOME names the worker, SUBSCRIBE_RESULT settles the subscription; the first 20 ERRORs and DRAINs are kept. */
export function onReceiverControl(session: ReceiverSession | undefined, index: number, msgId: number, body: Buffer, errors: string[]): void {
  const control = decodeControl(msgId, body);
  if (session === undefined) return;
  switch (control.type) {
    case 'welcome':
      session.worker = control.worker;
      session.welcomed();
      return;
    case 'subscribe-result':
      session.subscribed(control.code);
      return;
    case 'error':
    case 'drain':
      if (errors.length < 20) errors.push(`session ${index}: ${JSON.stringify(control)}`);
      return;
    default:
      return;
  }
}
