/**
 * SIGHUP in the `actorgate` command: reload the TLS certificates (Gateway.reloadTls()) and say what happened on
 * stderr. A failed reload keeps the old certificates and the gateway running.
 */
import type { Gateway } from '../gateway.ts';

export function reloadOnSignal(gateway: Gateway, stderr: { write(text: string): unknown }, signal: string): void {
  if (gateway.config.listen.tls === null && gateway.config.admin.tls === null && gateway.config.push.tls === null) {
    stderr.write(`actorgate: ${signal}: no tls configured; nothing to reload\n`);
    return;
  }
  gateway.reloadTls().then(
    (result) => stderr.write(`actorgate: ${signal}: TLS certificates reloaded (${result.reloaded.join(', ') || 'none'})\n`),
    (err: unknown) => stderr.write(`actorgate: ${signal}: TLS reload failed, the old certificate stays in use: ${(err instanceof Error ? err.message : String(err)).split('\n', 1)[0]}\n`),
  );
}
