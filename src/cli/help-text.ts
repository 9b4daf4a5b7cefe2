/** The text of `actorgate --help`: every command, flag, ACTORGATE_* variable and config field. */
import { CONFIG_KEYS } from '../core/options.ts';
import { DEFAULT_PORTS, sectionDefaults, SETTING_ROWS, splitPath, staticDefault, type SettingRow } from '../core/settings-table.ts';
import { DEMO_DEFAULTS } from './demo-defaults.ts';
import { SETTINGS, TABULATED_SECTIONS, type Setting } from './settings.ts';

const WIDTH = 118;

/** `text` padded to `width`, or followed by two spaces where it is that long already. */
function column(text: string, width: number): string {
  return text.length < width ? text.padEnd(width) : `${text}  `;
}

/** Words wrapped to WIDTH, each line indented by `indent` spaces. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n');
}

/** 16777216 → "16777216 (16 MiB)" for a size in bytes; other values as they are typed. */
function shown(row: SettingRow, value: unknown): string {
  if (typeof value === 'number' && row.path.endsWith('Bytes') && value >= 1024 * 1024 && value % (1024 * 1024) === 0) return `${value} (${value / (1024 * 1024)} MiB)`;
  return String(value);
}

function defaultSentence(row: SettingRow): string {
  return row.defaultText === undefined ? `Default ${shown(row, staticDefault(row, true))}.` : `Default: ${row.defaultText}.`;
}

/** An entry of the options list: flag, variable, field, then the description with the default. */
function optionEntry(setting: Setting): string {
  const { row } = setting;
  const head = `  ${column(`--${setting.flag} ${row.metavar ?? 'V'}`, 23)}${column(setting.env, 26)}${setting.field}${row.nullable ? ' (null = off)' : ''}`;
  return `${head}\n${wrap(`${row.doc ?? ''} ${defaultSentence(row)}`.trim(), 6)}`;
}

const optionEntries = SETTINGS.filter((setting) => setting.section === undefined)
  .map(optionEntry)
  .join('\n');

/** One row per field of a section: name, default, flag; the note (if any) on the next line. */
function sectionTable(section: string): string {
  return SETTINGS.filter((setting) => setting.section === section)
    .map((setting) => {
      const value = setting.row.defaultText ?? String(staticDefault(setting.row, true));
      const row = `    ${column(splitPath(setting.field)[1], 27)}${column(value, 10)}--${setting.flag}`;
      return setting.row.doc === undefined ? row : `${row}\n${' '.repeat(41)}${setting.row.doc}`;
    })
    .join('\n');
}

/** What each config section is for, in its line of the config file fields. */
const SECTION_NOTES: Record<string, string> = {
  listen: 'and "tls": { "cert", "key", "ca", "passphrase" } for wss:// (TLS, below)',
  admin: 'port null: off; apiKeys and tls (https://) below',
  push: 'gRPC GatewayPush; port null: off; tls below',
  control: 'routes from the config file or Redis (hot reload, cached); dns:/// endpoints',
  registry: 'with redis: what the gateway registry says of this instance (below)',
  limits: 'per-session, per-address, per-worker and process-wide protection',
  backend: 'gRPC streams to backends',
  restart: 'worker restart backoff',
  tracing: 'W3C traceparent on backend packets (TRACE_CONTEXT, sampling) and OTLP span export',
  metrics: 'sampled stage-latency histograms (README, "Where time goes")',
  auth: `authentication at the upgrade; absent or null: none. Needs "jwt": { "keys": [
                           { "file": "jwt.pem", "algorithms": ["RS256"] },
                           { "jwksUrl": "https://idp/jwks.json", "algorithms": ["ES256"] },
                           { "jwk": { "kty": "oct", "k": "..." }, "kid": "k1", "algorithms": ["HS256"] } ], ... }:
                           each key one of file (PEM, or a JWK / JWK Set), jwk, jwksUrl, with its algorithm allow-list
                           (HS* only for an "oct" JWK, never from a JWKS). Or, instead of jwt, "service": { "endpoint":
                           "10.0.0.3:7300" } asks an auth service (GatewayAuth.Authenticate, proto/auth.proto). Scalars`,
};

/** Fields with a shape of their own: an example rather than the defaults. */
const STRUCTURED_FIELDS: Record<string, string> = {
  redis: `{ "url": "redis://10.0.0.9:6379", "prefix": "actorgate:", "healthCheckMs": 5000 }
                           fan-out across instances. Or, instead of url, "cluster": ["10.0.0.9:7000", "10.0.0.10:7000"]:
                           seed nodes of a Redis Cluster (Redis 7+: sharded pub/sub, SSUBSCRIBE/SPUBLISH; not with
                           limits.maxConnectionsPerUser); healthCheckMs: each worker's self-addressed probe period
                           (a missing probe is counted, the connections replaced, /ready reports it; 0: off);
                           absent or null: everything stays within this instance`,
  routes: `[ { "serverType": 1, "worldId": 0, "instId": 0, "endpoints": ["10.0.0.5:7100"],
                               "strategy": "round-robin", "hashBy": "session", "notify": false,
                               "authorizeTopics": ["team.*"] }, ... ]
                           authorizeTopics: topic globs whose subscriptions this route's backend grants or refuses
                           (the SUBSCRIBE is forwarded to it); checked before topics.allow; default none
                           "rateLimit": { "messagesPerSecond": 50, "messageBurst": 100, "bytesPerSecond": 0,
                               "byteBurst": 65543 } per session, for the messages this rule routes; past it
                               ERROR 4300 RATE_LIMITED; default none
                           an endpoint "dns:///name:port" is every address name resolves to (control.dnsRefreshMs);
                           "realm": true (worldId 0): the message's worldId's endpoints in the Redis document's
                               realms, falling back to endpoints (may then be omitted)`,
  topics: '{ "allow": ["chat.*"] }   glob patterns clients may subscribe to; default none',
};

function scalarField(row: SettingRow): string {
  const kind = row.kind === 'int' ? `integer ${row.min}-${row.max}` : row.kind === 'bool' ? 'boolean' : row.kind;
  const fallback = row.defaultText === undefined ? `default ${shown(row, staticDefault(row, true))}` : `default: ${row.defaultText}`;
  const text = `${kind}, ${fallback}${row.kind === 'bool' && row.doc ? `; ${row.doc}` : ''}`;
  return row.flag === null ? `${text}\n${' '.repeat(27)}Config file and library only (no flag).` : text;
}

/** The line (or lines) of one top-level config field. */
function configField(key: string): string {
  const line = (text: string) => `  ${key.padEnd(25)}${text}`;
  const note = SECTION_NOTES[key];
  if (STRUCTURED_FIELDS[key] !== undefined) return line(STRUCTURED_FIELDS[key]);
  if (TABULATED_SECTIONS.includes(key)) return `${line(`${note ? `${note} ` : ''}(field, default, flag):`)}\n${sectionTable(key)}`;
  const scalar = SETTING_ROWS.find((row) => row.path === key);
  if (scalar !== undefined) return line(scalarField(scalar));
  const json = `{ ${Object.entries(sectionDefaults(key, true)).map(([field, value]) => `"${field}": ${JSON.stringify(value)}`).join(', ')} }`;
  return line(note ? `${json}   ${note}` : json);
}

const configFields = CONFIG_KEYS.map(configField).join('\n');

/** `actorgate --help`: every command, flag, environment variable, the route syntax and the config file fields. */
export const HELP_TEXT = `actorgate: a real-time connection gateway (WebSocket clients to gRPC backends)

Usage:
  actorgate start [options]      run a gateway
  actorgate demo [options]       run a gateway with a bundled demo backend, all on 127.0.0.1
  actorgate hash-key [--stdin]   make an API key and its hash for push.apiKeys / admin.apiKeys (below)
  actorgate instances [--redis URL | --redis-cluster NODES] [--redis-prefix P] [--json]
                                 list the live gateway instances registered in Redis (below)
  actorgate routes get | set FILE | validate FILE [--redis URL | --redis-cluster NODES] [--redis-prefix P]
                   [--config FILE]
                                 the route document in Redis (<prefix>routes, for control.routes "redis"): print
                                 it; check FILE and write it with the next version, notifying every gateway; or
                                 only check FILE. FILE: { "routes": [ rules as below ], "realms": { "7": [
                                 "10.0.0.5:7100" ] } }. Exit 2 for a bad FILE (the message names the field)
  actorgate drain [--admin URL] [--window-ms N]
                                 drain a running gateway through its admin port (POST URL/admin/drain; default URL
                                 http://127.0.0.1:${DEFAULT_PORTS.admin}; the key from ACTORGATE_ADMIN_KEY as x-api-key) and wait
                                 until it has finished; --window-ms overrides shutdown.drainWindowMs. Exit 0 drained,
                                 1 refused or unreachable, 2 bad command line (Draining, below)
  actorgate help | --help | -h   show this help (also: actorgate start --help)
  actorgate --version | -v       print the version

start options (flag, environment variable, config file field):
  --config FILE          ACTORGATE_CONFIG
      JSON config file (fields below); a relative path is taken from the current directory.
${optionEntries}
  --route SPEC           ACTORGATE_ROUTES          routes
      A route rule; repeat the flag for more rules. Syntax below.
  --registry-*, --limits-*, --backend-*, --shutdown-*, --restart-*, --tracing-*,
  --metrics-*, --auth-*
      One flag per field of those config sections, listed with the config file below (--limits-max-payload-bytes
      sets limits.maxPayloadBytes, --auth-jwt-leeway-sec sets auth.jwt.leewaySec; auth keys: config file only).
  -h, --help             show this help

  Every flag has a variable: ACTORGATE_ and the flag name in capitals with - as _ (--backend-mailbox-capacity is
  ACTORGATE_BACKEND_MAILBOX_CAPACITY).
  Precedence, lowest first: built-in defaults < config file < ACTORGATE_* variables < flags. Scalars override one
  field at a time (ACTORGATE_PORT changes listen.port and keeps listen.host from the file; a section that is null
  in the file, like "redis": null, counts as absent); routes are replaced as a whole: any --route replaces
  ACTORGATE_ROUTES, which replaces the file's routes. An empty variable counts as unset. Integer flags and
  variables take decimal integers only.

Route syntax (--route SPEC):
  SERVERTYPE[/WORLDID[/INSTID]]=ENDPOINT[,ENDPOINT...][,strategy=S][,hashBy=H][,notify=true|false]
    SERVERTYPE   1-255 (0 is the gateway's own control channel)
    WORLDID      0-32767, INSTID 0-255; 0 or absent matches any. The most specific matching rule wins.
    ENDPOINT     host:port of a backend, [addr]:port for IPv6, dns:///name:port for every address of name
    strategy     round-robin (default) or consistent-hash
    hashBy       consistent-hash key: session (default) or user (the bound user id)
    notify       also call the unary NotifyConnect/NotifyDisconnect (older backends); default false
  Examples:
    --route 1=127.0.0.1:7100,127.0.0.1:7101       serverType 1, round-robin over two endpoints
    --route 2/5=10.0.0.7:7200                     serverType 2 in world 5 only
    --route 3=10.0.0.8:7300,10.0.0.9:7300,strategy=consistent-hash,hashBy=user
  ACTORGATE_ROUTES is a JSON array whose items are rule objects (as in the config file) or SPEC strings:
    ACTORGATE_ROUTES='[{"serverType":1,"endpoints":["10.0.0.5:7100"]},"2=10.0.0.6:7200"]'

Config file (JSON object; every field optional; unknown fields are errors):
${configFields}
  Example: { "name": "gate-eu-1", "listen": { "port": ${DEFAULT_PORTS.listen} }, "routes": [ { "serverType": 1,
             "endpoints": ["10.0.0.5:7100", "10.0.0.6:7100"] } ], "topics": { "allow": ["room.*"] } }

demo options:
  --port P               WebSocket port on 127.0.0.1; 0 picks a free one. Default ${DEMO_DEFAULTS.port}.
  --admin-port A|off     admin HTTP port on 127.0.0.1. Default ${DEMO_DEFAULTS.adminPort}.
  --push-port G|off      GatewayPush gRPC port on 127.0.0.1. Default ${DEMO_DEFAULTS.pushPort}.
  --backend-port B       demo backend's gRPC port on 127.0.0.1. Default 0 (a free port).
  --log-level L          Default ${DEMO_DEFAULTS.logLevel}.
  The demo routes serverType 1 to its backend, which echoes every frame and sends a tick every 5 s; clients may
  subscribe to topics matching demo.*. It reads no config file and no ACTORGATE_* variables.

API keys (hash-key): without apiKeys the push and admin ports are open to whoever reaches them, which is why they
listen on 127.0.0.1 by default; before binding either elsewhere, set its apiKeys (and its tls). "actorgate hash-key"
prints a new random key ("key ...", give it to the caller) and its hash ("hash sha256:...", list it in the config);
"actorgate hash-key --stdin" prints the hash of a key read from stdin (visible ASCII, 16 characters or more). A key
goes in the header X-Api-Key or Authorization: Bearer (gRPC: metadata x-api-key or authorization). push.apiKeys keys
Push, PushStream and POST /v1/push; admin.apiKeys keys /metrics, the worker list of /ready (without a key /ready
answers only {"ready": ...}), the /dashboard page's stream /dashboard/events and POST /v1/push when push.apiKeys
is unset; /health and the /dashboard page itself are always open. A refusal is 401 (gRPC UNAUTHENTICATED) naming
4521 API_KEY_REQUIRED or 4522 API_KEY_INVALID. List several hashes to rotate keys.

TLS: listen.tls (wss://), admin.tls (https://) and push.tls (gRPC over TLS) each take { "cert": FILE, "key": FILE,
"ca": FILE, "passphrase": TEXT } (PEM files; cert and key required; or the --listen-tls-*, --admin-tls-*, --push-tls-*
flags above). The files are checked at start: one that does not load, or a key that does not fit its certificate,
stops the start naming the field. With ca, clients must present a certificate it signed (mutual TLS; the WebSocket
port also accepts a client that sends none). SIGHUP reads the files again: new handshakes get the new certificate,
established connections keep theirs; a file that does not load keeps the old certificate, is logged on stderr and
counted in actorgate_tls_reloads_total{server,outcome="error"}, and the gateway runs on.

Gateway registry (instances): with redis, every instance keeps an entry in Redis (<prefix>instance:<nodeId>, JSON:
name, node id, client URLs, push address, workers, sessions, state starting|running|draining, start time) with a TTL
of registry.ttlMs that it refreshes, deletes it at close, and announces joins, state changes and leaves on the
channel <prefix>instances. "actorgate instances" prints one line per live instance (--json: the entries as a JSON
array); it reads --redis / ACTORGATE_REDIS (or --redis-cluster / ACTORGATE_REDIS_CLUSTER) and --redis-prefix /
ACTORGATE_REDIS_PREFIX, or the redis section of --config FILE.
Push clients (the actorgate/push-client export) find the gateways this way.

Draining (drain): the first SIGINT or SIGTERM, POST /admin/drain (admin key when admin.apiKeys is set; GET reads
the progress) and "actorgate drain" start one drain. /ready answers 503 at once; connections are still accepted for
shutdown.preDrainDelayMs; then each client gets DRAIN with its own reconnectAfterMs, spread evenly over
shutdown.drainWindowMs across all workers, and one still open at its time is closed with DRAINED (4002), in waves;
window 0: one DRAIN for all, the rest closed at the deadline. shutdown.drainTimeoutMs caps the whole drain from its
start (the window is cut to fit); then the gateway closes and the process exits 0.

Signals: the first SIGINT or SIGTERM drains (clients are told to reconnect elsewhere) and then stops; a second one
closes at once. SIGHUP reloads the TLS certificates (above). Exit codes: 0 stopped cleanly, 1 failed to start or stop, 2 invalid command line or configuration.
`;
