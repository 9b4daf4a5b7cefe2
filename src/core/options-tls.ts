/**
 * The `tls` field of `listen`, `admin` and `push`: its shape, `resolveTls()`, which checks it at start, and
 * `loadTls()`, which reads and checks the files again at every reload. Each check parses what the server will use
 * (node:crypto, then tls.createSecureContext for the pair), so a missing file, a PEM that is not a certificate, a
 * wrong passphrase or a key that does not match its certificate is a `ConfigError` naming the field, not a server
 * that starts and then fails every handshake (uWS checks neither the pair nor, for a bad file, says which).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './errors.ts';
import { checkKeys, section, settingValue } from './options-validate.ts';
import type { SettingRow } from './settings-table.ts';

/** Serve TLS: PEM files, read at start and again at every reload (`reloadTls()`, SIGHUP). */
export interface TlsOptions {
  /** The server's certificate chain (PEM): its certificate first, then any intermediates. */
  cert: string;
  /** Its private key (PEM), encrypted or not. */
  key: string;
  /**
   * CA certificates (PEM) that client certificates must chain to (mutual TLS): clients are asked for a certificate
   * and one that does not verify fails the handshake. The admin and push servers also refuse a client without one;
   * the WebSocket port (uWS) accepts it. @default none: clients are not asked for a certificate
   */
  ca?: string;
  /** Passphrase of an encrypted `key`. @default none */
  passphrase?: string;
}

export interface ResolvedTls {
  /** Absolute paths. */
  readonly cert: string;
  readonly key: string;
  readonly ca: string | null;
  readonly passphrase: string | null;
}

/** The file contents of a `ResolvedTls`, checked: what node:tls and grpc-js are given. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The key decrypted (PKCS#8 PEM): for grpc-js, whose certificate providers take no passphrase. */
  readonly plainKey: Buffer;
  readonly ca: Buffer | null;
  readonly passphrase: string | null;
}

/** The servers that take a `tls` field, as metrics and reload results name them. */
export const TLS_SERVERS = ['listen', 'admin', 'push'] as const;
export type TlsServer = (typeof TLS_SERVERS)[number];

const TLS_KEYS = ['cert', 'key', 'ca', 'passphrase'] as const;

const DOCS: Record<TlsServer, string> = {
  listen: 'WebSocket port (wss://)',
  admin: 'admin server (https://)',
  push: 'GatewayPush server (gRPC over TLS)',
};

/**
 * One row per field, so each has a flag and an `ACTORGATE_*` variable (`--listen-tls-cert`); only `resolveTls`
 * reads them, because the four exist only together.
 */
export const TLS_ROWS: readonly SettingRow[] = TLS_SERVERS.flatMap((server): SettingRow[] => [
  { path: `${server}.tls.cert`, kind: 'string', default: '', defaultText: 'none (no TLS)', metavar: 'FILE', doc: `Certificate chain (PEM) of the ${DOCS[server]}; with ${server}.tls.key, serves TLS. Reloaded on SIGHUP.` },
  { path: `${server}.tls.key`, kind: 'string', default: '', defaultText: 'none', metavar: 'FILE', doc: `Private key (PEM) of ${server}.tls.cert.` },
  { path: `${server}.tls.ca`, kind: 'string', default: '', defaultText: 'none', metavar: 'FILE', doc: `CA certificates (PEM) that client certificates must chain to (mutual TLS)${server === 'listen' ? '; a client without one is still accepted here' : '; a client without one is refused'}.` },
  { path: `${server}.tls.passphrase`, kind: 'string', default: '', defaultText: 'none', metavar: 'TEXT', doc: `Passphrase of an encrypted ${server}.tls.key.` },
]);

function row(path: string): SettingRow {
  return TLS_ROWS.find((r) => r.path === path)!;
}

/** Checks `<server>.tls`: absent or null is no TLS; otherwise cert and key are required and every file is loaded. */
export function resolveTls(value: unknown, field: `${TlsServer}.tls`): ResolvedTls | null {
  if (value === undefined || value === null) return null;
  const input = section(value, field);
  checkKeys(input, TLS_KEYS, field);
  const text = (key: (typeof TLS_KEYS)[number]) => {
    const got = settingValue(row(`${field}.${key}`), input[key]) as string;
    return got === '' ? null : got;
  };
  const cert = text('cert');
  const key = text('key');
  if (cert === null) throw new ConfigError(`${field}.cert`, 'is required with tls (a PEM certificate file)');
  if (key === null) throw new ConfigError(`${field}.key`, 'is required with tls (a PEM private key file)');
  const ca = text('ca');
  const tls: ResolvedTls = Object.freeze({ cert: resolve(cert), key: resolve(key), ca: ca === null ? null : resolve(ca), passphrase: text('passphrase') });
  loadTls(tls, field);
  return tls;
}

/** The files of `tls` loaded (loadTls), or null without TLS. */
export function materialOf(tls: ResolvedTls | null, field: string): TlsMaterial | null {
  return tls === null ? null : loadTls(tls, field);
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(field, `cannot read ${path}: ${(err as Error).message}`);
  }
}

function reason(err: unknown): string {
  return ((err as Error).message ?? String(err)).split('\n', 1)[0]!;
}

/**
 * Reads and checks the files of `tls` (synchronously: at start, and at a reload on the supervisor). Throws a
 * `ConfigError` naming the field (`listen.tls.key`) whose file is missing, unparsable or does not fit.
 */
export function loadTls(tls: ResolvedTls, field: string): TlsMaterial {
  const cert = readPem(tls.cert, `${field}.cert`);
  const key = readPem(tls.key, `${field}.key`);
  const ca = tls.ca === null ? null : readPem(tls.ca, `${field}.ca`);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(`${field}.cert`, `${tls.cert} is not a PEM certificate (${reason(err)})`);
  }
  let plainKey: Buffer;
  try {
    const keyObject = createPrivateKey(tls.passphrase === null ? { key } : { key, passphrase: tls.passphrase });
    plainKey = Buffer.from(keyObject.export({ type: 'pkcs8', format: 'pem' }) as string);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(key.toString('latin1'));
    if (encrypted) throw new ConfigError(`${field}.passphrase`, `does not decrypt ${tls.key} (${reason(err)})`);
    throw new ConfigError(`${field}.key`, `${tls.key} is not a PEM private key (${reason(err)})`);
  }
  if (ca !== null) {
    try {
      createSecureContext({ ca });
      new X509Certificate(ca);
    } catch (err) {
      throw new ConfigError(`${field}.ca`, `${tls.ca} is not a PEM certificate bundle (${reason(err)})`);
    }
  }
  try {
    createSecureContext({ cert, key: plainKey });
  } catch (err) {
    throw new ConfigError(`${field}.key`, `${tls.key} does not fit the certificate in ${tls.cert} (${reason(err)})`);
  }
  return { cert, key, plainKey, ca, passphrase: tls.passphrase };
}
