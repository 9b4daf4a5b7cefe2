/** The demo gateway's embedded defaults, shared by the parser and the help text. */
export const DEMO_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 7000,
  adminPort: 7001,
  pushPort: 7002,
  backendPort: 0,
  topics: ['demo.*'],
  // the demo prints its own instructions; info-level JSON logs on the same stdout would bury them
  logLevel: 'warn',
});
