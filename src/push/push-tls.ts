/**
 * The push server's credentials: insecure, or TLS through grpc-js's certificate-provider credentials (its
 * `experimental` API, the one grpc-js offers for certificates that change). The provider here holds the files as
 * loaded by `loadTls` and hands a new set to grpc-js on reload, which swaps the secure context of its listening
 * HTTP/2 servers: new handshakes use it, established connections keep theirs. With a CA, clients must present a
 * certificate it verifies.
 */
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from '../core/options-tls.ts';

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * Certificates set from outside (`update`), told to every listener at once. A new listener gets the current set on
 * the next microtask, not inside the call: grpc-js adds its server's watcher only after adding the listener, so a
 * synchronous answer would reach no server.
 */
class ReloadableCertificates implements grpc.experimental.CertificateProvider {
  #tls: TlsMaterial;
  readonly #ca = new Set<CaListener>();
  readonly #identity = new Set<IdentityListener>();

  constructor(tls: TlsMaterial) {
    this.#tls = tls;
  }

  update(tls: TlsMaterial): void {
    this.#tls = tls;
    for (const listener of this.#ca) listener(this.#caUpdate());
    for (const listener of this.#identity) listener(this.#identityUpdate());
  }

  #caUpdate(): grpc.experimental.CaCertificateUpdate | null {
    return this.#tls.ca === null ? null : { caCertificate: this.#tls.ca };
  }

  #identityUpdate(): grpc.experimental.IdentityCertificateUpdate {
    // grpc-js takes no passphrase here: the key as loadTls decrypted it.
    return { certificate: this.#tls.cert, privateKey: this.#tls.plainKey };
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#ca.add(listener);
    queueMicrotask(() => {
      if (this.#ca.has(listener)) listener(this.#caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#ca.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.add(listener);
    queueMicrotask(() => {
      if (this.#identity.has(listener)) listener(this.#identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identity.delete(listener);
  }
}

export class PushCredentials {
  readonly credentials: grpc.ServerCredentials;
  readonly #provider: ReloadableCertificates | undefined;

  constructor(tls: TlsMaterial | null) {
    if (tls === null) {
      this.credentials = grpc.ServerCredentials.createInsecure();
      return;
    }
    const provider = new ReloadableCertificates(tls);
    this.#provider = provider;
    const mutual = tls.ca !== null;
    // grpc-js's parameter names are swapped: the first provider gives the server's identity, the second the CA.
    this.credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, mutual ? provider : null, mutual);
  }

  /** New handshakes use `tls` (the same fields as at start: a reload reads the files again, not the config). */
  reload(tls: TlsMaterial): boolean {
    if (this.#provider === undefined) return false;
    this.#provider.update(tls);
    return true;
  }
}
