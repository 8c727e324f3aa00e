// Child-process entry: boots one real instance from the JSON config in JIM_INSTANCE_CONFIG and reports
// its url to the parent over IPC; answers {deliver} commands; 'stop' or SIGTERM stops it gracefully.
import { loadConfig, type Config, type DeepPartial } from '../../src/config';
import { createLogger } from '../../src/shared/logger';
import { startInstance } from '../../src/server';
import type { ServerEvent } from '../../src/gateway/gateway.types';

async function main(): Promise<void> {
  const overrides = JSON.parse(process.env.JIM_INSTANCE_CONFIG || '{}') as DeepPartial<Config>;
  const config = loadConfig({ env: { NODE_ENV: 'test' }, overrides });
  const instance = await startInstance(config, createLogger({ level: config.log.level }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    instance
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('message', (msg: unknown) => {
    if (msg === 'stop') return stop();
    const cmd = msg as { deliver?: { userIds: string[]; event: ServerEvent }; seq: number };
    if (cmd.deliver) {
      instance.gateway
        .deliver(cmd.deliver.userIds, cmd.deliver.event)
        .then(() => process.send?.({ seq: cmd.seq }))
        .catch((err: unknown) => process.send?.({ seq: cmd.seq, error: String(err) }));
    }
  });
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send?.({ url: instance.url, pid: process.pid, instanceId: instance.gateway.instanceId });
}

main().catch((err: unknown) => {
  process.stderr.write(`instance failed to start: ${(err as Error).stack}\n`);
  process.exit(1);
});
