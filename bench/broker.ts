// What a job's model broker adds per model request: the same Messages request to the loopback fake model, sent
// directly and through a broker (placeholder check, the host login read, the token swapped, the answer streamed
// back), interleaved in one run so both see the same machine. Keep-alive connections on both paths, as the CLIs use.
// Alone: `npx tsx bench/broker.ts`.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoginRefreshers } from '../controller/broker/login-refresher.js';
import { startModelBroker } from '../controller/broker/model-broker.js';
import { startFakeModelServer } from '../test/support/fake-model-server.js';
import { claudeLogin } from '../test/support/lane-homes.js';
import { median, p95, round } from './stats.js';

export interface BrokerBench {
  requests: number;
  directMedianMs: number;
  brokerMedianMs: number;
  /** Median of the per-pair differences (broker minus the direct request beside it). */
  addedMedianMs: number;
  addedP95Ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const BODY = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  stream: true,
  messages: [{ role: 'user', content: 'x'.repeat(4000) }],
});

function timed(url: string, token: string): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(Number(process.hrtime.bigint() - start) / 1e6));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

export async function benchBroker(requests = 300): Promise<BrokerBench> {
  const model = await startFakeModelServer();
  const dir = mkdtempSync(join(tmpdir(), 'bench-broker-'));
  writeFileSync(
    join(dir, '.credentials.json'),
    JSON.stringify(claudeLogin('sk-ant-oat01-bench', 'sk-ant-ort01-bench')),
  );
  const broker = await startModelBroker(
    { runnerName: 'bench', logins: new Map([['claude', { agent: 'claude', source: dir }]]), models: [] },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
      upstreams: { anthropicUrl: model.url, openaiUrl: model.url, chatgptUrl: model.url },
    },
  );
  const direct: number[] = [];
  const brokered: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      await timed(`${model.url}/v1/messages`, 'sk-ant-oat01-bench');
      await timed(`http://127.0.0.1:${broker.port}/v1/messages`, broker.token);
    }
    const viaDirect = () => timed(`${model.url}/v1/messages`, 'sk-ant-oat01-bench');
    const viaBroker = () => timed(`http://127.0.0.1:${broker.port}/v1/messages`, broker.token);
    for (let i = 0; i < requests; i++) {
      // Alternate which goes first, so neither always pays for the other's garbage.
      if (i % 2 === 0) {
        direct.push(await viaDirect());
        brokered.push(await viaBroker());
      } else {
        brokered.push(await viaBroker());
        direct.push(await viaDirect());
      }
    }
  } finally {
    await broker.close();
    await model.close();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const added = brokered.map((b, i) => b - direct[i]!);
  return {
    requests,
    directMedianMs: round(median(direct), 2),
    brokerMedianMs: round(median(brokered), 2),
    addedMedianMs: round(median(added), 2),
    addedP95Ms: round(p95(added), 2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchBroker(), null, 2));
