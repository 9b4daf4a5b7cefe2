/**
 * Fault injection for test rigs: makes one worker's next client message handler throw, as a bug would. The gateway
 * must have been started with `faultInjection: true`.
 */
import { kSupervisor, type Gateway } from '../gateway.ts';

export function injectWorkerFault(gateway: Gateway, worker: number): void {
  if (!gateway.config.faultInjection) throw new Error('injectWorkerFault: start the gateway with faultInjection: true');
  gateway[kSupervisor].injectFault(worker);
}
