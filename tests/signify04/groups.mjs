#!/usr/bin/env node
// A multisig group's life with signify-ts 0.4.0, as its own integration scripts drive it: each
// member is a controller of its own (any keria), with a single-sig identifier `member`; one
// member starts the group's inception and sends it to the others in a /multisig/icp exn, the
// others join from their notification, and every member's `group.{prefix}` operation is
// awaited. Prints exactly one JSON line: {"ok":true, …} (exit 0) or {"ok":false,"error","step"}
// (exit 1).
//
//   node groups.mjs OPTIONS_JSON
//
// OPTIONS_JSON: {"members":[{"admin","boot","passcode"}…], "name":"group", "isith":2|[…],
//   "nsith":…, "wits":[…], "toad":N, "steps":[…], "join":[indices], "timeout":ms}
// steps (in order given): "setup" (boot, connect, create `member` with its agent end role,
//   resolve every other member's agent OOBI), "start" (member 0 incepts the group and sends
//   it), "join" (members in "join", default all others, approve from their notification),
//   "await" (every member's group operation, done), "members" (member 0's GET …/members),
//   "notes" (every member's unread notification routes), "endrole" (every member authorises
//   every member's agent as the group's agent, with /multisig/rpy; then GET /endroles/{group}
//   of member 0), "bad" (refused group inceptions: their statuses and reasons).

import { ready, SignifyClient, Tier, Algos, Saider, Serder, Siger, d, messagize } from 'signify-ts';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function wait(client, op, timeout) {
    const deadline = Date.now() + timeout;
    while (!op.done) {
        if (Date.now() > deadline) {
            throw Object.assign(new Error(`operation ${op.name} not done in ${timeout}ms`), { op });
        }
        await sleep(25);
        op = await client.operations().get(op.name);
    }
    if (op.error) {
        throw Object.assign(new Error(`operation ${op.name} failed: ${JSON.stringify(op.error)}`), { op });
    }
    return op;
}

async function note(client, route, timeout) {
    const deadline = Date.now() + timeout;
    for (;;) {
        const { notes } = await client.notifications().list();
        const found = notes.filter((n) => n.a.r === route && !n.r);
        if (found.length > 0) {
            for (const n of found) await client.notifications().mark(n.i);
            return found[found.length - 1].a.d;
        }
        if (Date.now() > deadline) throw new Error(`no ${route} notification in ${timeout}ms`);
        await sleep(50);
    }
}

async function states(client, prefixes) {
    const found = [];
    for (const prefix of prefixes) {
        const [state] = await client.keyStates().get(prefix);
        found.push(state);
    }
    return found;
}

// The group inception `kargs` for `mhab`, its signatures sent to `recipients` in a /multisig/icp.
async function incept(client, name, mhab, kargs, smids, recipients) {
    const result = await client.identifiers().create(name, { algo: Algos.group, mhab, ...kargs });
    const op = await result.op();
    const serder = result.serder;
    const sigers = result.sigs.map((sig) => new Siger({ qb64: sig }));
    const atc = d(messagize(serder, sigers)).substring(serder.size);
    if (recipients.length > 0) {
        await client.exchanges().send('member', name, mhab, '/multisig/icp',
            { gid: serder.pre, smids, rmids: smids }, { icp: [serder, atc] }, recipients);
    }
    return { op, prefix: serder.pre };
}

async function main() {
    const options = JSON.parse(process.argv[2] ?? '{}');
    const timeout = options.timeout ?? 30000;
    const name = options.name ?? 'group';
    const steps = options.steps ?? ['setup', 'start', 'join', 'await', 'members', 'notes'];
    const out = { ok: false, step: 'ready' };
    try {
        await ready();
        const clients = [];
        for (const member of options.members) {
            const client = new SignifyClient(member.admin, member.passcode, Tier.low, member.boot);
            const booted = await client.boot();
            if (!booted.ok && booted.status !== 409) {
                throw new Error(`boot: HTTP ${booted.status}: ${await booted.text()}`);
            }
            await client.connect();
            clients.push(client);
        }
        const joiners = options.join ?? clients.map((_, index) => index).slice(1);
        let aids = [];
        const others = (index) => aids.filter((_, other) => other !== index);
        const loadAids = async () => {
            aids = [];
            for (const client of clients) aids.push((await client.identifiers().get('member')).prefix);
        };
        for (const step of steps) {
            out.step = step;
            if (step === 'setup') {
                for (const client of clients) {
                    const made = await client.identifiers().create('member');
                    await wait(client, await made.op(), timeout);
                    const role = await client.identifiers().addEndRole('member', 'agent', client.agent.pre);
                    await wait(client, await role.op(), timeout);
                }
                const oobis = [];
                for (const client of clients) oobis.push((await client.oobis().get('member', 'agent')).oobis[0]);
                for (const [index, client] of clients.entries()) {
                    for (const [other, oobi] of oobis.entries()) {
                        if (other === index) continue;
                        await wait(client, await client.oobis().resolve(oobi, `member${other}`), timeout);
                    }
                }
                await loadAids();
                out.aids = aids;
            } else if (step === 'start') {
                await loadAids();
                const client = clients[0];
                const mhab = await client.identifiers().get('member');
                const smids = aids;
                const kargs = {
                    isith: options.isith ?? smids.length,
                    nsith: options.nsith ?? smids.length,
                    toad: options.toad ?? 0,
                    wits: options.wits ?? [],
                    states: await states(client, smids),
                    rstates: await states(client, smids),
                };
                const started = await incept(client, name, mhab, kargs, smids, others(0));
                out.prefix = started.prefix;
                out.started = started.op;
            } else if (step === 'join') {
                await loadAids();
                for (const index of joiners) {
                    const client = clients[index];
                    const said = await note(client, '/multisig/icp', timeout);
                    const [request] = await client.groups().getRequest(said);
                    const icp = request.exn.e.icp;
                    const smids = request.exn.a.smids;
                    const mhab = await client.identifiers().get('member');
                    const kargs = {
                        isith: icp.kt,
                        nsith: icp.nt,
                        toad: parseInt(icp.bt, 16),
                        wits: icp.b,
                        states: await states(client, smids),
                        rstates: await states(client, request.exn.a.rmids ?? smids),
                    };
                    out.lastSignature = Date.now();
                    const joined = await incept(client, name, mhab, kargs, smids,
                        smids.filter((aid) => aid !== mhab.prefix));
                    out.prefix = joined.prefix;
                }
            } else if (step === 'await') {
                out.operations = [];
                for (const client of clients) {
                    const group = await client.identifiers().get(name);
                    const op = await client.operations().get(`group.${group.prefix}`);
                    out.operations.push(await wait(client, op, timeout));
                }
                out.done = Date.now();
                if (out.lastSignature) out.elapsedMs = out.done - out.lastSignature;
                const group = await clients[0].identifiers().get(name);
                out.prefix = group.prefix;
                out.state = group.state;
            } else if (step === 'members') {
                out.members = await clients[0].identifiers().members(name);
            } else if (step === 'notes') {
                out.notes = [];
                for (const client of clients) {
                    const { notes } = await client.notifications().list();
                    out.notes.push(notes.filter((n) => !n.r).map((n) => n.a.r));
                }
            } else if (step === 'endrole') {
                await loadAids();
                const group = await clients[0].identifiers().get(name);
                const stamp = new Date().toISOString().replace('Z', '000+00:00');
                const eids = clients.map((client) => client.agent.pre);
                const ops = [];
                for (const [index, client] of clients.entries()) {
                    const mine = await client.identifiers().get(name);
                    const mhab = await client.identifiers().get('member');
                    for (const eid of eids) {
                        const result = await client.identifiers().addEndRole(name, 'agent', eid, stamp);
                        ops.push([client, await result.op()]);
                        const seal = ['SealEvent', { i: mine.prefix, s: mine.state.ee.s, d: mine.state.ee.d }];
                        const sigers = result.sigs.map((sig) => new Siger({ qb64: sig }));
                        const atc = d(messagize(result.serder, sigers, seal, undefined, undefined, false))
                            .substring(result.serder.size);
                        await client.exchanges().send('member', name, mhab, '/multisig/rpy',
                            { gid: mine.prefix }, { rpy: [result.serder, atc] }, others(index));
                    }
                }
                for (const [client, op] of ops) await wait(client, op, timeout);
                const res = await clients[0].fetch(`/endroles/${group.prefix}`, 'GET', null);
                out.endroles = await res.json();
                out.agents = eids;
            } else if (step === 'bad') {
                out.bad = await refusals(clients, name, options);
            } else {
                throw new Error(`unknown step ${step}`);
            }
        }
        out.ok = true;
        delete out.step;
        emit(out, 0);
    } catch (err) {
        out.error = String(err?.message ?? err);
        if (err?.op) out.operation = err.op;
        emit(out, 1);
    }
}

// Group inceptions keria must refuse: each one's status and reason.
async function refusals(clients, name, options) {
    const client = clients[0];
    const mhab = await client.identifiers().get('member');
    const aids = [];
    for (const other of clients) aids.push((await other.identifiers().get('member')).prefix);
    const kstates = await states(client, aids);
    const body = async (kargs) => {
        // What signify-ts would post, built by its own code, then altered.
        let captured;
        const real = client.fetch.bind(client);
        client.fetch = async (path, method, data) => {
            captured = data;
            return new Response(JSON.stringify({ name: 'x', done: false }), { status: 202 });
        };
        try {
            await client.identifiers().create(name + '-bad', { algo: Algos.group, mhab, ...kargs });
        } finally {
            client.fetch = real;
        }
        return captured;
    };
    const post = async (data) => {
        const res = await client.fetch('/identifiers', 'POST', data).catch((err) => err);
        if (res instanceof Response) return { status: res.status, reason: await res.text() };
        return { status: Number(String(res.message).match(/HTTP (?:POST|GET)? ?[^-]*- (\d{3})/)?.[1] ?? 0), reason: String(res.message) };
    };
    const good = { isith: aids.length, nsith: aids.length, states: kstates, rstates: kstates };
    const results = {};
    let data = await body(good);
    results.notLocal = await post({ ...data, group: { ...data.group, mhab: { ...data.group.mhab, prefix: aids[1] } } });
    data = await body(good);
    results.keysWithoutMember = await post({ ...data, group: { ...data.group, keys: data.group.keys.slice(1) } });
    data = await body({ ...good, states: [kstates[0], kstates[0], ...kstates.slice(2)], rstates: [kstates[0], kstates[0], ...kstates.slice(2)] });
    results.duplicateMember = await post(data);
    // signify-ts refuses to build it: the threshold is raised and the SAIDs made again.
    data = await body(good);
    const [, raised] = Saider.saidify({ ...data.icp, kt: String(aids.length + 1), i: ''.padStart(44, '#') });
    raised.i = raised.d;
    results.unmeetableThreshold = await post({ ...data, icp: raised });
    data = await body(good);
    // Signed by this member's key, but at the place of another member's key.
    const keeper = client.manager.get(mhab);
    const misplaced = await keeper.sign(new Serder(data.icp).raw, true, [1]);
    results.nonMemberSignature = await post({ ...data, sigs: misplaced });
    // A /multisig/icp exn posted twice to the other member's agent: the second is a replay.
    data = await body(good);
    const [exn, sigs, atc] = await client.exchanges().createExchangeMessage(mhab, '/multisig/icp',
        { gid: data.icp.i, smids: aids, rmids: aids }, { icp: [new Serder(data.icp),
            d(messagize(new Serder(data.icp), data.sigs.map((sig) => new Siger({ qb64: sig })))).substring(new Serder(data.icp).size)] },
        aids[1]);
    const seal = ['SealEvent', { i: mhab.prefix, s: mhab.state.ee.s, d: mhab.state.ee.d }];
    const signed = d(messagize(exn, sigs.map((sig) => new Siger({ qb64: sig })), seal, undefined, undefined, false)) + atc;
    const ingress = async () => {
        const res = await fetch(options.members[1].http, {
            method: 'POST', headers: { 'Content-Type': 'application/cesr' }, body: signed,
        });
        return { status: res.status, reason: await res.text() };
    };
    results.firstDelivery = await ingress();
    results.replayed = await ingress();
    const { notes } = await client.notifications().list();
    results.identifiers = (await client.identifiers().list()).aids.map((aid) => aid.name);
    results.notes = notes.length;
    return results;
}

main();
