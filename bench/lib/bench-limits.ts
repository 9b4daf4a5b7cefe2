/**
 * The limits a benchmarked gateway runs with. Every load generator connects from one address and drives each
 * connection as fast as it goes: the per-address limits would refuse the rig's connections and the per-session rates
 * would cap the throughput being measured, so both are off; everything else keeps its default.
 */
export const BENCH_LIMITS = Object.freeze({ maxConnectionsPerIp: 0, upgradesPerSecondPerIp: 0, messagesPerSecond: 0, bytesPerSecond: 0 });
