// A stand-in for the four programs in the runner's tests: the commands and flags the runner uses, files where
// the real programs put them, and just enough JSON-RPC for readiness and the live view.
//   node fake-program.mjs <program> <args…>
// FAKE_FAIL="<program> <word>": that command fails (exit 1) with a message; FAKE_PENDING likewise answers
// "not implemented yet"; FAKE_CRASH="<program>": the daemon exits with code 3 after FAKE_CRASH_MS (default 300).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const [program, ...args] = process.argv.slice(2);
const has = (w) => args.includes(w);
const flag = (name) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
};
const words = args.filter((a) => !a.startsWith('-'));
const matches = (env) => {
  const v = process.env[env];
  if (!v) return false;
  const [p, w] = v.split(' ');
  return p === program && (!w || words.includes(w));
};
if (process.env.FAKE_CALLS) appendFileSync(process.env.FAKE_CALLS, `${program} ${args.join(' ')}\n`);
if (matches('FAKE_PENDING')) {
  console.error(`Error: ${program} ${words.at(-1)} is not implemented yet in this build`);
  process.exit(2);
}
if (matches('FAKE_FAIL')) {
  console.error(`Error: ${program} failed on purpose (FAKE_FAIL)`);
  process.exit(1);
}

function serve(port, methods, path = null) {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(methods.metrics ? methods.metrics() : '');
      return;
    }
    if (path && req.url !== path) {
      res.writeHead(404);
      res.end();
      return;
    }
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      let msg;
      try {
        msg = JSON.parse(body);
      } catch {
        res.writeHead(405);
        res.end('use POST');
        return;
      }
      const fn = methods[msg.method];
      const out = fn
        ? { jsonrpc: '2.0', id: msg.id, result: fn(...(msg.params ?? [])) }
        : { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `method '${msg.method}' not found` } };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`${program} listening on 127.0.0.1:${port}`));
  process.on('SIGTERM', () => {
    console.log(`${program} stopping`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
  if (process.env.FAKE_CRASH === program) {
    setTimeout(() => {
      console.error(`${program}: panic: fake crash`);
      process.exit(3);
    }, Number(process.env.FAKE_CRASH_MS ?? 300));
  }
}

// the deployment guide's example address
const OWNER = 't3skelnvntu5m7kb656jfvr5dfy663aru76c6pxqp4qf6madrm7s4db77ysasefohdjypmoumc3niug6xmcxuq';
const portOf = (listen) => Number(String(listen).split(':').pop());

if (program === 'venus-devnet') {
  const home = flag('--home');
  if (has('init')) {
    mkdirSync(join(home, 'keys'), { recursive: true });
    writeFileSync(join(home, 'chain.db'), '');
    const payload = Buffer.from(JSON.stringify({ name: 'devnet', perm: 'admin' })).toString('base64url');
    writeFileSync(join(home, 'token'), `eyJhbGciOiJIUzI1NiJ9.${payload}.sig\n`);
    const keyFile = join(home, 'keys', `${OWNER}.key`);
    writeFileSync(keyFile, 'deadbeef\n');
    writeFileSync(join(home, 'devnet.json'), JSON.stringify({ accounts: [{ address: OWNER, keyFile }] }));
    console.log('genesis written');
  } else if (has('run')) {
    const start = Date.now();
    const height = () => Math.floor((Date.now() - start) / 100);
    serve(portOf(flag('--listen')), {
      'Filecoin.ChainHead': () => ({ Height: height() }),
      'Gateway.WalletHas': () => true,
      'Filecoin.StateMinerProvingDeadline': () => ({
        CurrentEpoch: height(),
        Index: Math.floor(height() / 10) % 48,
        Open: Math.floor(height() / 10) * 10,
        Close: Math.floor(height() / 10) * 10 + 10,
        PeriodStart: Math.floor(height() / 480) * 480,
        WPoStPeriodDeadlines: 48,
        WPoStChallengeWindow: 10,
        WPoStProvingPeriod: 480,
      }),
      'Filecoin.StateMinerSectors': () => (height() > 5 ? [{ SectorNumber: 1 }] : []),
      'Filecoin.StateSectorPartition': () => ({ Deadline: 3, Partition: 0 }),
      'Filecoin.StateMinerPartitions': () => [
        { LiveSectors: [1, 1], ActiveSectors: height() > 10 ? [1, 1] : [0], FaultySectors: [0] },
      ],
      'Filecoin.StateMinerDeadlines': () => Array.from({ length: 48 }, () => ({ PostSubmissions: [0] })),
    });
  }
} else if (program === 'venus-wallet') {
  const repo = flag('--repo');
  if (has('run')) {
    const cfg = readFileSync(join(repo, 'config.toml'), 'utf8');
    const port = Number(/tcp\/(\d+)/.exec(cfg)[1]);
    serve(port, {});
    setTimeout(() => console.log('INFO wallet_event connect to server 1234-abcd'), 100);
  } else if (has('setpwd')) {
    const input = readFileSync(0, 'utf8').split('\n');
    if (!input[0] || input[0] !== input[1]) {
      console.error('passwords differ');
      process.exit(1);
    }
    console.log('Password set successfully');
  } else if (has('lock-state')) console.log('wallet state: unlocked');
  else if (has('list')) console.log('');
  else if (has('import')) console.log(`imported key ${OWNER} successfully!`);
} else if (program === 'venus-sector-manager') {
  const home = flag('--home');
  if (has('init')) {
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'sector-manager.cfg'), '# default\n');
  } else if (has('create')) {
    if (!existsSync(join(home, 'sector-manager.cfg'))) process.exit(5);
    console.error('INFO sealer miner actor: t01000 (t2abc)');
  } else if (has('run')) {
    serve(portOf(flag('--listen')), {
      'Venus.ListSectors': (state) =>
        state === 'online' ? [{ LatestState: { StateChange: { Next: 'PC1Done' } } }] : [{ Finalized: true }],
      // the first manager (home manager/) holds every duty, the others stand by
      metrics: () =>
        'venus_wdpost_last_epoch{miner="1000",deadline="3"} 33\nvenus_wdpost_last_ok{miner="1000",deadline="3"} 1\n' +
        ['post', 'commit', 'chain']
          .map((d) => `venus_sector_manager_duty_held{duty="${d}"} ${home.endsWith('/manager') ? 1 : 0}\n`)
          .join(''),
    });
  }
} else if (program === 'venus-worker') {
  if (has('seal-init') || has('file-init')) {
    const i = args.indexOf('-l');
    for (const p of args.slice(i + 1)) {
      mkdirSync(p, { recursive: true });
      writeFileSync(join(p, '.holder'), '');
    }
  } else if (has('daemon')) {
    const cfg = readFileSync(flag('--config'), 'utf8');
    const port = Number(/\[worker_server\][^[]*port = (\d+)/.exec(cfg)[1]);
    serve(
      port,
      {
        'VenusWorker.WorkerList': () => [
          {
            location: '/x/seal-1',
            index: 0,
            job_id: 's-t01000-1',
            thread_state: { state: 'Running', elapsed: 12 },
            job_state: 'TicketAssigned',
            job_stage: 'PC1',
            last_error: null,
          },
          { location: '/x/seal-2', index: 1, thread_state: { state: 'Idle' } },
        ],
      },
      '/',
    );
  }
} else {
  console.error(`unknown program ${program}`);
  process.exit(9);
}
