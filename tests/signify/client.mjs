#!/usr/bin/env node
// Command-line driver running the real Signify client (signify-ts) against keria.
// Every invocation prints exactly one JSON object on stdout and exits 0 on
// success, 1 on failure with {"ok": false, "error": "..."}.

import { ready, SignifyClient, Tier, randomPasscode } from 'signify-ts';

const USAGE = [
    'node client.mjs --admin URL --boot URL (--passcode P | --random) [options]',
    '  --tier low|med|high      key derivation tier (default low)',
    '  --steps a,b,c            from aid|none, boot, connect, list, state (default aid)',
    '  --expect-status N        boot status that counts as success (default: any 2xx)',
    '  --boot-user U --boot-password P   HTTP Basic auth on POST /boot',
    '  --many N                 N clients with random passcodes boot concurrently',
    '  --timeout MS             give up after MS milliseconds (default 120000)',
];

const STEPS = new Set(['aid', 'none', 'boot', 'connect', 'list', 'state']);
const FLAGS = new Set(['random', 'help']);
const OPTIONS = new Set([
    'admin',
    'boot',
    'passcode',
    'tier',
    'steps',
    'expect-status',
    'boot-user',
    'boot-password',
    'many',
    'timeout',
]);

let done = false;

function emit(obj, code) {
    if (done) return;
    done = true;
    process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code));
}

function fail(message, partial = {}) {
    const { ok: _ok, ...rest } = partial;
    emit({ ok: false, error: message, ...rest }, 1);
}

function parseArgs(argv) {
    const opts = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
        const name = arg.slice(2);
        if (FLAGS.has(name)) {
            opts[name] = true;
        } else if (OPTIONS.has(name)) {
            if (i + 1 >= argv.length) throw new Error(`missing value for --${name}`);
            opts[name] = argv[++i];
        } else {
            throw new Error(`unknown option: --${name}`);
        }
    }
    return opts;
}

function parseInteger(name, value) {
    if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
    return Number(value);
}

function trimUrl(name, value) {
    if (value === undefined) throw new Error(`--${name} is required`);
    return value.replace(/\/+$/, '');
}

function elapsed(start) {
    return Math.round((performance.now() - start) * 10) / 10;
}

// Basic auth header value, or null when no boot credentials were given.
function basicAuth(opts) {
    const user = opts['boot-user'];
    const password = opts['boot-password'];
    if (user === undefined && password === undefined) return null;
    if (user === undefined || password === undefined) {
        throw new Error('--boot-user and --boot-password go together');
    }
    return 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

// POST /boot. Without credentials this is signify-ts' own boot(); with them the
// same request (same body bytes, built from the client's inception event and
// signature) is sent with an Authorization header, which boot() cannot add.
async function boot(client, auth) {
    if (auth === null) return client.boot();
    const [serder, siger] = client.controller.event;
    const body = JSON.stringify({
        icp: serder.sad,
        sig: siger.qb64,
        stem: client.controller.stem,
        pidx: 1,
        tier: client.controller.tier,
    });
    return fetch(client.bootUrl + '/boot', {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', Authorization: auth },
    });
}

async function readBody(res) {
    const text = await res.text();
    if (text === '') return null;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

function parseTier(value = 'low') {
    if (!Object.hasOwn(Tier, value)) throw new Error(`--tier must be low, med or high`);
    return Tier[value];
}

// Fills `out` as it goes, so a failure still reports what was reached.
async function runSingle(opts, out) {
    out.ok = false;
    out.timings_ms = {};
    const tier = parseTier(opts.tier);
    const steps = (opts.steps ?? 'aid').split(',').filter((s) => s !== '');
    for (const step of steps) {
        if (!STEPS.has(step)) throw new Error(`unknown step: ${step}`);
    }
    const network = steps.some((s) => s !== 'aid' && s !== 'none');
    const admin = network ? trimUrl('admin', opts.admin) : (opts.admin ?? 'http://127.0.0.1:3901');
    const bootUrl = network ? trimUrl('boot', opts.boot) : (opts.boot ?? 'http://127.0.0.1:3903');
    const expect = opts['expect-status'] === undefined
        ? null
        : parseInteger('expect-status', opts['expect-status']);
    const auth = basicAuth(opts);

    let passcode = opts.passcode;
    if (opts.random) {
        if (passcode !== undefined) throw new Error('--passcode and --random exclude each other');
        passcode = randomPasscode();
        out.passcode = passcode;
    }
    if (passcode === undefined) throw new Error('--passcode or --random is required');
    if (passcode.length < 21) throw new Error('passcode must be at least 21 characters');

    let t = performance.now();
    const client = new SignifyClient(admin, passcode, tier, bootUrl);
    out.timings_ms.init = elapsed(t);
    out.tier = tier;
    out.controller = client.controller.pre;

    for (const step of steps) {
        out.failed_step = step;
        t = performance.now();
        switch (step) {
            case 'aid':
            case 'none':
                break;
            case 'boot': {
                const res = await boot(client, auth);
                out.boot_status = res.status;
                out.boot_body = await readBody(res);
                const good = expect === null ? res.ok : res.status === expect;
                if (!good) {
                    const want = expect === null ? '2xx' : String(expect);
                    throw new Error(`boot: HTTP ${res.status} (expected ${want}): ${JSON.stringify(out.boot_body)}`);
                }
                break;
            }
            case 'connect':
                await client.connect();
                out.agent = client.agent.pre;
                break;
            case 'list':
                out.identifiers = await client.identifiers().list();
                break;
            case 'state': {
                const state = await client.state();
                out.state = {
                    agent: state.agent,
                    controller: state.controller,
                    pidx: state.pidx,
                    ridx: state.ridx,
                };
                break;
            }
        }
        out.timings_ms[step] = elapsed(t);
    }
    delete out.failed_step;
    out.ok = true;
    return out;
}

// N clients with random passcodes; keys are derived first, then all boots are
// sent at once. A failing boot is recorded and does not stop the others.
async function runMany(opts) {
    const n = parseInteger('many', opts.many);
    if (n < 1) throw new Error('--many must be at least 1');
    const tier = parseTier(opts.tier);
    const admin = opts.admin === undefined ? 'http://127.0.0.1:3901' : trimUrl('admin', opts.admin);
    const bootUrl = trimUrl('boot', opts.boot);
    const auth = basicAuth(opts);

    let t = performance.now();
    const passcodes = Array.from({ length: n }, () => randomPasscode());
    const clients = passcodes.map((p) => new SignifyClient(admin, p, tier, bootUrl));
    const init = elapsed(t);

    t = performance.now();
    const results = await Promise.all(
        clients.map(async (client) => {
            try {
                const res = await boot(client, auth);
                await res.arrayBuffer();
                return { status: res.status, error: null };
            } catch (e) {
                return { status: null, error: errorMessage(e) };
            }
        })
    );
    return {
        ok: true,
        controllers: clients.map((c) => c.controller.pre),
        statuses: results.map((r) => r.status),
        errors: results.map((r) => r.error),
        passcodes,
        timings_ms: { init, boot: elapsed(t) },
    };
}

function errorMessage(e) {
    if (!(e instanceof Error)) return String(e);
    // fetch failures carry the real reason (e.g. ECONNREFUSED) in `cause`.
    const cause = e.cause instanceof Error ? `: ${e.cause.code ?? e.cause.message}` : '';
    return e.message + cause;
}

async function main() {
    let opts;
    try {
        opts = parseArgs(process.argv.slice(2));
    } catch (e) {
        return fail(errorMessage(e));
    }
    if (opts.help) return emit({ ok: true, usage: USAGE }, 0);

    let timeout = 120000;
    try {
        if (opts.timeout !== undefined) timeout = parseInteger('timeout', opts.timeout);
    } catch (e) {
        return fail(errorMessage(e));
    }
    const partial = {};
    setTimeout(() => fail(`timed out after ${timeout} ms`, partial), timeout);
    try {
        await ready();
        emit(opts.many !== undefined ? await runMany(opts) : await runSingle(opts, partial), 0);
    } catch (e) {
        fail(errorMessage(e), partial);
    }
}

// A promise left pending with nothing else to wait for must not end silently.
process.on('beforeExit', () => fail('exited without a result'));

main().catch((e) => fail(errorMessage(e)));
