/**
 * What a sampled or traced client message carries from `WorkerActor.onMessage` through its stream actor, so that the
 * stages it passes (mailbox out, batch written) can be timed. Most packets carry none (`StreamPacket.probe` null),
 * and the stream actor does extra work only for those that do.
 */

export interface PacketProbe {
  /** performance.now() on the receiving thread when the client's frame came in */
  readonly inAt: number;
  /** whether this message counts toward the stage histograms */
  readonly stage: boolean;
  /** set by the tracer: its forward span for this message; null when the message is not traced */
  trace: unknown;
}

export interface ProbeSink {
  /** the stream actor took the packet into a batch, at performance.now() `at` */
  mailboxOut(probe: PacketProbe, at: number): void;
  /** the batch holding it was reported written by grpc-js (ok) or failed */
  written(probe: PacketProbe, at: number, ok: boolean): void;
}
