/** The demo gateway's embedded defaults, shared by the parser and the help text. */
import { DEFAULT_PORTS } from '../core/settings-table.ts';

export const DEMO_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: DEFAULT_PORTS.listen,
  adminPort: DEFAULT_PORTS.admin,
  pushPort: DEFAULT_PORTS.push,
  backendPort: 0,
  topics: ['demo.*'],
  // the demo prints its own instructions; info-level JSON logs on the same stdout would bury them
  logLevel: 'warn',
});
