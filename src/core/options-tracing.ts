/**
 * The `tracing` section's checks that no single row of the settings table can make: the ratio's upper bound, the
 * collector's URL and the form of its headers. Checked once at start, like every option.
 */
import { ConfigError } from './errors.ts';
import { show } from './options-validate.ts';
import type { ResolvedConfig } from './options-types.ts';

type ResolvedTracing = ResolvedConfig['tracing'];

// gRPC metadata names: lowercase token characters (grpc-js refuses others when it sends).
const HEADER = /^([0-9a-z_.-]+)=(.*)$/;

export function resolveTracing(tracing: ResolvedTracing): ResolvedTracing {
  if (!(tracing.sampleRatio <= 1)) {
    throw new ConfigError('tracing.sampleRatio', `must be from 0 to 1, got ${show(tracing.sampleRatio)}`);
  }
  const endpoint = tracing.otlpEndpoint;
  if (endpoint !== null && !/^https?:\/\/[^\s/]+\/?$/.test(endpoint)) {
    const expected = "an http:// or https:// URL of a collector's OTLP/gRPC port (http://collector:4317)";
    throw new ConfigError('tracing.otlpEndpoint', `must be ${expected}, got ${show(endpoint)}`);
  }
  tracing.otlpHeaders.forEach((header, i) => {
    if (!HEADER.test(header)) {
      const field = `tracing.otlpHeaders[${i}]`;
      throw new ConfigError(field, `must be name=value with a lowercase name, got ${show(header)}`);
    }
  });
  return tracing;
}

/** The headers as the exporter takes them. */
export function otlpHeaderMap(headers: readonly string[]): Record<string, string> {
  return Object.fromEntries(headers.map((header) => HEADER.exec(header)!.slice(1, 3) as [string, string]));
}
