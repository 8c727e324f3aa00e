import cluster, { type Worker } from 'node:cluster';
import { ConfigError, loadConfig, workerCount, type Config } from './config';
import { createLogger, type Logger } from './shared/logger';
import { startInstance } from './server';

/** What a worker tells the primary over the cluster's IPC channel. */
type WorkerNote = { jim: 'ready' } | { jim: 'start-failed'; reason: string };

/** Sends a note to the primary when this process is a cluster worker; resolves once it is sent (or cannot be). */
function tellPrimary(note: WorkerNote): Promise<void> {
  return new Promise((resolve) => {
    if (!cluster.isWorker || !process.send || !process.connected) return resolve();
    try {
      process.send(note, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Boots one instance in this process and wires signals to a graceful stop. */
async function runWorker(config: Config, logger: Logger): Promise<void> {
  // Until the instance has started, a signal keeps its default action: the process ends at once.
  const instance = await startInstance(config, logger);
  let exiting = false;
  const shutdown = (signal: string, code: number) => {
    if (exiting) {
      // Under the cluster primary a worker may get both the terminal's signal and the primary's SIGTERM;
      // the primary is the one that forces. A process on its own ends now on a second signal.
      if (cluster.isWorker || !signal.startsWith('SIG')) return;
      logger.warn({ signal }, 'second signal; exiting now');
      logger.flush(() => process.exit(1));
      return;
    }
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
  await tellPrimary({ jim: 'ready' });
}

/**
 * Forks `workers` processes sharing the port and restarts one that dies unexpectedly, after
 * `server.restartDelayMs`. Gives up (exit 1) when `server.maxStartFailures` workers in a row die before they
 * are ready. SIGTERM/SIGINT stop every worker and cancel pending restarts; a second signal kills them.
 */
function runPrimary(config: Config, workers: number, logger: Logger): void {
  const { restartDelayMs, maxStartFailures, shutdownTimeoutMs } = config.server;
  const live = new Set<Worker>();
  const ready = new Set<Worker>();
  const pendingForks = new Set<NodeJS.Timeout>();
  let stopping = false;
  let exitCode = 0;
  let startFailures = 0;
  let lastStartError: string | null = null;

  const fork = () => live.add(cluster.fork());
  const finish = () => logger.flush(() => process.exit(exitCode));
  const stopAll = () => {
    stopping = true;
    for (const t of pendingForks) clearTimeout(t);
    pendingForks.clear();
    if (live.size === 0) return finish();
    for (const w of live) w.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ workers: live.size }, 'workers did not stop in time; killing them');
      for (const w of live) w.process.kill('SIGKILL');
      exitCode = 1;
      finish();
    }, shutdownTimeoutMs + 10_000);
  };

  cluster.on('message', (worker, note: WorkerNote) => {
    if (note?.jim === 'ready') {
      ready.add(worker);
      startFailures = 0;
    } else if (note?.jim === 'start-failed') {
      lastStartError = String(note.reason);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    const wasReady = ready.delete(worker);
    if (stopping) {
      if (live.size === 0) finish();
      return;
    }
    if (!wasReady && ++startFailures >= maxStartFailures) {
      exitCode = 1;
      logger.fatal(
        { failures: startFailures, reason: lastStartError },
        `workers failed to start ${startFailures} times in a row (last error: ${lastStartError ?? `exit code ${code}, signal ${signal}`}); exiting`,
      );
      stopAll();
      return;
    }
    logger.error({ workerPid: worker.process.pid, code, signal }, 'worker exited; starting another');
    const t = setTimeout(() => {
      pendingForks.delete(t);
      if (!stopping) fork();
    }, restartDelayMs);
    pendingForks.add(t);
  });

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal, workers: live.size }, 'second signal; killing workers');
      for (const w of live) w.process.kill('SIGKILL');
      exitCode = 1;
      finish();
      return;
    }
    logger.info({ signal }, 'stopping workers');
    stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let i = 0; i < workers; i++) fork();
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
  // Embedded mode is one process (the config refuses more than one worker there); 0 means one per core.
  const workers = workerCount(config);
  const logger = createLogger({
    level: config.log.level,
    base: { role: cluster.isPrimary && workers > 1 ? 'primary' : 'worker' },
  });
  if (workers > 1 && cluster.isPrimary) {
    logger.info({ workers }, 'starting workers');
    runPrimary(config, workers, logger);
    return;
  }
  runWorker(config, logger).catch(async (err: unknown) => {
    logger.fatal({ err }, 'failed to start');
    await tellPrimary({ jim: 'start-failed', reason: (err as Error)?.message ?? String(err) });
    logger.flush(() => process.exit(1));
  });
}

main();
