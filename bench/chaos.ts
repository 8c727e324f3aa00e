// Faults under load: server processes on a private Redis and MariaDB, clients that reconnect and page with
// `afterSeq` on `resync`, senders retrying on the same clientMsgId over REST and WS, while a worker is
// SIGKILLed, Redis is killed and restarted, MariaDB is stopped and restarted, Redis is frozen (SIGSTOP /
// SIGCONT) and a whole instance is SIGKILLed and restarted. Reports, per fault, the outage and the recovery
// time (until a message sent through every instance reached its recipient), and in all: messages
// acknowledged, missing, duplicated, seq gaps, and any 5xx other than 503.
// Usage: npm run bench -- chaos [--pairs 20] [--instances 2,1] [--interval 100] [--rounds 2]
//   [--settle 5000] [--freeze 5000] [--converge 30000]
import fs from 'node:fs';
import path from 'node:path';
import { ALL_FAULTS, runChaos, type FaultName } from '../test/helpers/chaos';
import { privateServersAvailable } from '../test/helpers/private-servers';
import { arg, log, machine, num, run } from './lib/setup';

async function main(): Promise<void> {
  if (!privateServersAvailable()) throw new Error('redis-server and mariadbd are needed');
  const rounds = num('rounds', 2);
  const faults: FaultName[] = Array.from({ length: rounds }, () => ALL_FAULTS).flat();
  const options = {
    pairs: num('pairs', 20),
    instances: arg('instances', '2,1').split(',').map(Number),
    sendIntervalMs: num('interval', 100),
    faults,
    settleMs: num('settle', 5000),
    freezeMs: num('freeze', 5000),
    convergeMs: num('converge', 30_000),
    log,
  };
  const report = await runChaos(options);
  console.table(
    report.faults.map((f) => ({
      fault: f.fault,
      'outage ms': f.outageMs,
      'recovery ms': f.recoveryMs,
      'restart ms': f.restartMs ?? '',
    })),
  );
  console.table([
    {
      'faults injected': report.faults.length,
      acknowledged: report.acknowledged,
      stored: report.stored,
      missing: report.missing,
      duplicates: report.duplicates,
      gaps: report.gaps,
      'other 5xx': report.bad5xx.length,
      '503s': report.statuses['503'] ?? 0,
      resyncs: report.client.resyncEvents,
      'error log lines': report.logs.errors.length,
      'non-JSON log lines': report.logs.unparsed.length,
    },
  ]);
  const full = { scenario: 'chaos', date: new Date().toISOString(), machine: machine(), options, ...report };
  console.log(JSON.stringify(full, null, 2));
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `chaos-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify(full, null, 2));
  log(`saved ${path.relative(path.join(__dirname, '..'), file)}`);
  const lost = report.missing + report.duplicates + report.gaps + report.bad5xx.length;
  if (lost) throw new Error('the run lost, duplicated or failed something: see above');
}

run(main, 1800);
