/**
 * The stream actor's states. They change only in StreamActor's `#fsm` (core/state-machine.ts), whose entry action
 * does what each state implies.
 *
 *   idle ──start──▶ connecting ──channel ready──▶ ready ──stream ends/fails──▶ backoff ──timer──▶ connecting
 *     connecting ──channel fails──▶ backoff
 *     any live state ──close()──▶ closing ──flushed, failed or deadline──▶ closed;  any ──destroy()──▶ closed
 */
export const StreamStates = ['idle', 'connecting', 'ready', 'backoff', 'closing', 'closed'] as const;
export type StreamState = (typeof StreamStates)[number];
