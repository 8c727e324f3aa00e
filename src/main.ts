import cluster from 'node:cluster';
import os from 'node:os';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './shared/logger';
import { startInstance } from './server';

/** Boots one instance in this process and wires signals to a graceful stop. */
async function runWorker(config: Config, logger: Logger): Promise<void> {
  const instance = await startInstance(config, logger);
  let exiting = false;
  const shutdown = (signal: string, code: number) => {
    if (exiting) return;
    exiting = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      logger.flush();
      process.exit(1);
    }, config.server.shutdownTimeoutMs + 5000);
    hardStop.unref();
    instance
      .stop()
      .catch((err: unknown) => logger.error({ err }, 'shutdown failed'))
      .finally(() => {
        logger.info('stopped');
        logger.flush(() => process.exit(code));
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    shutdown('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    shutdown('unhandledRejection', 1);
  });
}

/** Forks `workers` processes sharing the port; restarts one that dies unexpectedly. */
function runPrimary(workers: number, logger: Logger): void {
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) logger.flush(() => process.exit(0));
      return;
    }
    logger.error({ workerPid: worker.process.pid, code, signal }, 'worker exited; starting another');
    setTimeout(fork, 1000);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function main(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    const message =
      err instanceof ConfigError ? err.message : `invalid configuration: ${(err as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  const workers = config.server.workers || os.availableParallelism();
  const logger = createLogger({
    level: config.log.level,
    base: { role: cluster.isPrimary && workers > 1 ? 'primary' : 'worker' },
  });
  if (workers > 1 && cluster.isPrimary) {
    logger.info({ workers }, 'starting workers');
    runPrimary(workers, logger);
    return;
  }
  runWorker(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, 'failed to start');
    logger.flush(() => process.exit(1));
  });
}

main();
