import type { Config } from '../config';
import type { Logger } from '../shared/logger';
import type { Engines } from './engines.types';

export type * from './engines.types';

/**
 * The engines of `config.mode`. Each set is loaded only when chosen: the embedded mode never loads the MySQL,
 * Redis or MongoDB clients.
 */
export async function buildEngines(config: Config, logger: Logger): Promise<Engines> {
  // require, not import(): the output is CommonJS, and a native import() of a relative file needs its
  // extension, which the TypeScript loaders of the tests and benches do not map.
  if (config.mode === 'distributed') {
    const { distributedEngines } = require('./engines.distributed') as typeof import('./engines.distributed');
    return distributedEngines(config, logger);
  }
  const { embeddedEngines } = require('./engines.embedded') as typeof import('./engines.embedded');
  return embeddedEngines(config, logger);
}
