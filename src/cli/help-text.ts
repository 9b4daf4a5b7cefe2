/** The text of `actorgate --help`: every command, flag, ACTORGATE_* variable and config field. */
import { DEMO_DEFAULTS } from './demo-defaults.ts';
import { SECTIONS, SETTINGS } from './settings.ts';

/** One row per field of a section: name, default, flag; the note (if any) on the next line. */
function rows(section: keyof typeof SECTIONS, notes: Record<string, string>): string {
  return Object.entries(SECTIONS[section])
    .map(([key, value]) => {
      const flag = SETTINGS.find((setting) => setting.field === `${section}.${key}`)!.flag;
      const row = `    ${key.padEnd(27)}${String(value).padEnd(10)}--${flag}`;
      return notes[key] === undefined ? row : `${row}\n${' '.repeat(41)}${notes[key]}`;
    })
    .join('\n');
}

const limitRows = rows('limits', {
  maxConnectionsPerWorker: 'upgrades past it get HTTP 503',
  maxPayloadBytes: 'largest client payload (at most 65535)',
  clientSendBufferBytes: 'bytes queued towards one client before messages are dropped',
  maxViolations: 'protocol violations per window before the session is closed',
  slowConsumerGraceMs: 'send buffer full this long: close with 4004',
  idleTimeoutMs: '0 disables; close a silent client with 4003',
  pingIntervalMs: 'below idleTimeoutMs; 0 disables',
});

const backendRows = rows('backend', {
  mailboxCapacity: 'queued messages per (worker, endpoint); past it clients get BACKEND_OVERLOADED',
  maxBatchPackets: 'packets per PacketBatch write',
  reconnectInitialMs: 'reconnect backoff, full jitter',
  notifyTimeoutMs: 'deadline of NotifyConnect/NotifyDisconnect',
  maxQueueAgeMs: 'while down, older queued messages get BACKEND_EXPIRED',
  circuitFailureThreshold: 'consecutive failures that open the circuit',
  circuitOpenMs: 'open circuit fails fast this long, then half-open',
  writeStallMs: 'a write pending this long counts as a failure',
  failoverAfterMs: 'down this long: bound sessions get BACKEND_FAILOVER',
});

const shutdownRows = rows('shutdown', {
  drainTimeoutMs: 'drain waits this long for clients to leave, then closes them',
  flushTimeoutMs: 'close waits this long for CLOSE packets to reach backends',
});

const restartRows = rows('restart', { initialMs: 'backoff of a failed worker\'s restart, doubling per quick failure' });

/** `actorgate --help`: every command, flag, environment variable, the route syntax and the config file fields. */
export const HELP_TEXT = `actorgate: a real-time connection gateway (WebSocket clients to gRPC backends)

Usage:
  actorgate start [options]      run a gateway
  actorgate demo [options]       run a gateway with a bundled demo backend, all on 127.0.0.1
  actorgate help | --help | -h   show this help (also: actorgate start --help)
  actorgate --version | -v       print the version

start options (flag, environment variable, config file field):
  --config FILE          ACTORGATE_CONFIG
      JSON config file (fields below); a relative path is taken from the current directory.
  --workers N            ACTORGATE_WORKERS         workers
      Worker threads, each owning a shard of the connections. Default: the number of CPU cores.
  --host H               ACTORGATE_HOST            listen.host
      Address the WebSocket server listens on. Default 0.0.0.0.
  --port P               ACTORGATE_PORT            listen.port
      WebSocket port; 0 picks one free port shared by all workers. Default 7000.
  --admin-host H         ACTORGATE_ADMIN_HOST      admin.host
      Address of the admin HTTP server. Default 127.0.0.1.
  --admin-port A|off     ACTORGATE_ADMIN_PORT      admin.port (null = off)
      Admin HTTP port serving /health, /ready and /metrics; "off" disables it. Default 7001.
  --push-host H          ACTORGATE_PUSH_HOST       push.host
      Address of the GatewayPush gRPC server. Default 127.0.0.1.
  --push-port G|off      ACTORGATE_PUSH_PORT       push.port (null = off)
      GatewayPush gRPC port (Push, PushStream); "off" disables it. Default 7002.
  --redis URL            ACTORGATE_REDIS           redis.url
      redis:// URL for fan-out across gateway instances (topic, user and session channels). Default: none.
  --redis-prefix P       ACTORGATE_REDIS_PREFIX    redis.prefix
      Prefix of every Redis channel and key. Default actorgate:.
  --name NAME            ACTORGATE_NAME            name
      Gateway name; backends see it as gate-name = <name>/<worker>. Default: the host name.
  --node-id N            ACTORGATE_NODE_ID         nodeId
      This instance's node id in session ids (0-8191); give every instance of a cluster its own. Default: random.
  --topics-allow GLOBS   ACTORGATE_TOPICS_ALLOW    topics.allow
      Comma-separated topic globs clients may subscribe to (* matches any run of characters). Default: none.
  --log-level L          ACTORGATE_LOG_LEVEL       log.level
      fatal, error, warn, info, debug, trace or silent. Default info. Logs are JSON lines (pino).
  --log-destination D    ACTORGATE_LOG_DESTINATION log.destination
      stdout (default), stderr, or a file path that every thread appends to (created if missing).
  --log-max-buffer-bytes B  ACTORGATE_LOG_MAX_BUFFER_BYTES  log.maxBufferBytes
      Log bytes one thread buffers while the destination is slow; past it lines are dropped and counted
      (actorgate_log_dropped_total). Default 16777216 (16 MiB).
  --route SPEC           ACTORGATE_ROUTES          routes
      A route rule; repeat the flag for more rules. Syntax below.
  --limits-*, --backend-*, --shutdown-*, --restart-*
      One flag per field of those config sections, listed with the config file below (--limits-max-payload-bytes
      sets limits.maxPayloadBytes).
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
    ENDPOINT     host:port of a backend, [addr]:port for IPv6
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
  name                     string, default: host name
  nodeId                   integer 0-8191, default: random (with redis: a free id leased from Redis)
  workers                  integer 1-64, default: CPU cores
  listen                   { "host": "0.0.0.0", "port": 7000 }
  admin                    { "host": "127.0.0.1", "port": 7001 }   port null disables the admin server
  push                     { "host": "127.0.0.1", "port": 7002 }   GatewayPush gRPC server; port null disables it
  redis                    { "url": "redis://10.0.0.9:6379", "prefix": "actorgate:" }   fan-out across instances;
                           absent or null: everything stays within this instance
  routes                   [ { "serverType": 1, "worldId": 0, "instId": 0, "endpoints": ["10.0.0.5:7100"],
                               "strategy": "round-robin", "hashBy": "session", "notify": false,
                               "authorizeTopics": ["team.*"] }, ... ]
                           authorizeTopics: topic globs whose subscriptions this route's backend grants or refuses
                           (the SUBSCRIBE is forwarded to it); checked before topics.allow; default none
  topics                   { "allow": ["chat.*"] }   glob patterns clients may subscribe to; default none
  log                      { "level": "info", "destination": "stdout", "maxBufferBytes": 16777216 }
  limits                   per-session and per-worker protection (field, default, flag):
${limitRows}
  backend                  gRPC streams to backends (field, default, flag):
${backendRows}
  shutdown                 (field, default, flag):
${shutdownRows}
  restart                  worker restart backoff (field, default, flag):
${restartRows}
  faultInjection           boolean, default false; test rigs only: lets the testkit crash a worker on purpose.
                           Config file and library only (no flag).
  Example: { "name": "gate-eu-1", "listen": { "port": 7000 }, "routes": [ { "serverType": 1,
             "endpoints": ["10.0.0.5:7100", "10.0.0.6:7100"] } ], "topics": { "allow": ["room.*"] } }

demo options:
  --port P               WebSocket port on 127.0.0.1; 0 picks a free one. Default ${DEMO_DEFAULTS.port}.
  --admin-port A|off     admin HTTP port on 127.0.0.1. Default ${DEMO_DEFAULTS.adminPort}.
  --push-port G|off      GatewayPush gRPC port on 127.0.0.1. Default ${DEMO_DEFAULTS.pushPort}.
  --backend-port B       demo backend's gRPC port on 127.0.0.1. Default 0 (a free port).
  --log-level L          Default ${DEMO_DEFAULTS.logLevel}.
  The demo routes serverType 1 to its backend, which echoes every frame and sends a tick every 5 s; clients may
  subscribe to topics matching demo.*. It reads no config file and no ACTORGATE_* variables.

Signals: the first SIGINT or SIGTERM drains (clients are told to reconnect elsewhere) and then stops; a second one
closes at once. Exit codes: 0 stopped cleanly, 1 failed to start or stop, 2 invalid command line or configuration.
`;
