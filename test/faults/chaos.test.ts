import { ALL_FAULTS, runChaos } from '../helpers/chaos';
import { privateServersAvailable } from '../helpers/private-servers';

const describeWithServers = privateServersAvailable() ? describe : describe.skip;

describeWithServers('faults lose nothing (short run; the long one is `npm run bench -- chaos`)', () => {
  it('delivers every acknowledged message exactly once, stores each clientMsgId once and keeps seqs gapless through every fault', async () => {
    const report = await runChaos({
      pairs: 5,
      instances: [2, 1],
      sendIntervalMs: 250,
      faults: ALL_FAULTS,
      settleMs: 1000,
      freezeMs: 3000,
      convergeMs: 20_000,
      log: (line) => process.env.TEST_LOG_LEVEL && console.log(line),
    });
    expect(report.faults.map((f) => f.fault)).toEqual(ALL_FAULTS);
    expect(report.acknowledged).toBeGreaterThan(50);
    expect(report.stored).toBe(report.acknowledged);
    // One object, so that a failure shows every finding at once.
    expect({
      missing: report.missing,
      duplicates: report.duplicates,
      gaps: report.gaps,
      storedNotAcknowledged: report.storedNotAcknowledged,
      bad5xx: report.bad5xx,
      // The log stream stays JSON (no raw ioredis lines) and an outage is no error.
      unparsedLogLines: report.logs.unparsed,
      errorLogLines: report.logs.errors,
    }).toEqual({
      missing: 0,
      duplicates: 0,
      gaps: 0,
      storedNotAcknowledged: 0,
      bad5xx: [],
      unparsedLogLines: [],
      errorLogLines: [],
    });
    // The outages were seen (503s) and the clients were told to page after the Redis restart.
    expect(report.statuses['503'] ?? 0).toBeGreaterThan(0);
    expect(report.client.resyncEvents).toBeGreaterThan(0);
  }, 300_000);
});
