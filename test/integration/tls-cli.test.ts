/** SIGHUP in the `actorgate` command reloads the TLS certificates; a reload that fails keeps the gateway running. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { connectClient, waitUntil } from '../../src/testkit/index.ts';
import { CertDir } from '../fixtures/tls-certs.ts';

const bin = fileURLToPath(new URL('../../bin/actorgate.js', import.meta.url));

function commonName(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      const name = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(Array.isArray(name) ? name.join(',') : name);
    });
    socket.once('error', reject);
  });
}

test('actorgate start serves wss:// from --listen-tls-* flags and reloads the certificate on SIGHUP', async (t) => {
  const certs = new CertDir();
  t.after(() => certs.remove());
  const ca = certs.ca('cli-ca');
  const live = { certFile: join(certs.dir, 'live.pem'), keyFile: join(certs.dir, 'live.key') };
  certs.install(certs.server(ca, 'cli-one'), live);
  const args = ['start', '--host', '127.0.0.1', '--port', '0', '--admin-port', 'off', '--push-port', 'off', '--workers', '1', '--log-level', 'warn'];
  args.push('--listen-tls-cert', live.certFile, '--listen-tls-key', live.keyFile);
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number);
  t.after(() => child.kill('SIGKILL'));
  const url = await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}: ${out.stderr}`);
    return /wss:\/\/127\.0\.0\.1:\d+\//.exec(out.stdout)?.[0];
  }, 20_000, 'actorgate start to print its wss:// URL');
  const port = Number(new URL(url).port);
  const client = await connectClient(url, { ca: ca.pem });
  assert.equal(await commonName(port, ca.pem), 'cli-one');

  certs.install(certs.server(ca, 'cli-two'), live);
  child.kill('SIGHUP');
  await waitUntil(() => out.stderr.includes('SIGHUP: TLS certificates reloaded (listen)'), 10_000, `the reload on stderr:\n${out.stderr}`);
  assert.equal(await commonName(port, ca.pem), 'cli-two');

  writeFileSync(live.keyFile, 'not a key');
  child.kill('SIGHUP');
  await waitUntil(() => out.stderr.includes('SIGHUP: TLS reload failed'), 10_000, `the failed reload on stderr:\n${out.stderr}`);
  assert.match(out.stderr, /listen\.tls\.key/);
  assert.equal(await commonName(port, ca.pem), 'cli-two', 'the old certificate stays');
  client.heartbeat();
  await client.waitForControl('heartbeat', 3000);
  await client.close();

  child.kill('SIGINT');
  assert.equal(await exited, 0, out.stderr);
});
