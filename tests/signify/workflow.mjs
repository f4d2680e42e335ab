#!/usr/bin/env node
// Whole Signify workflows against keria, as a user's program runs them with signify-ts.
// Prints one JSON object on stdout: {"ok": true, ...what was seen} or {"ok": false, "error"}.
//
//   node workflow.mjs story --a ADMIN,BOOT --b ADMIN,BOOT --passcode-a P --passcode-b Q
//       two controllers (on one agency or two): identifiers, events, ranges, rename, end
//       roles, OOBIs resolved both ways, contacts, key state, events, queries, operations
//   node workflow.mjs again --a ADMIN,BOOT --passcode-a P --name NAME
//       reconnect (no boot): what is still there, and one more identifier
//   node workflow.mjs registry --a ADMIN,BOOT --passcode-a P --name NAME --registry REG
//       boot, identifier NAME and its credential registry REG (waiting on the operation and
//       the one it depends on); the registries listed, the schemas, the reply escrows
//   node workflow.mjs registries --a ADMIN,BOOT --passcode-a P --name NAME
//       reconnect (no boot): NAME's registries and key state
//   node workflow.mjs challenge --a ADMIN,BOOT --b ADMIN,BOOT --passcode-a P --passcode-b Q
//       two controllers resolve each other's OOBIs; Alice challenges Bob, Bob responds, Alice
//       verifies and accepts; Bob sends Alice an IPEX-routed exn, which she is notified of
//   node workflow.mjs challenged --a ADMIN,BOOT --passcode-a P --delete yes|no
//       reconnect Alice (no boot): her contacts' challenges and her notifications (deleted)

import { ready, SignifyClient, Tier, Algos } from 'signify-ts';

let finished = false;
function emit(obj, code) {
    if (finished) return;
    finished = true;
    process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(code));
}

function parse(argv) {
    const [command, ...rest] = argv;
    const opts = { command };
    for (let i = 0; i < rest.length; i += 2) {
        if (!rest[i].startsWith('--') || i + 1 >= rest.length) {
            throw new Error(`bad arguments near ${rest[i]}`);
        }
        opts[rest[i].slice(2)] = rest[i + 1];
    }
    return opts;
}

async function connect(urls, passcode, boot) {
    const [admin, bootUrl] = urls.split(',');
    const client = new SignifyClient(admin, passcode, Tier.low, bootUrl);
    if (boot) {
        const res = await client.boot();
        if (res.status !== 202) throw new Error(`boot: ${res.status} ${await res.text()}`);
    }
    await client.connect();
    return client;
}

async function waitOp(client, op) {
    return client.operations().wait(op, { minSleep: 5, maxSleep: 200, increaseFactor: 5 });
}

async function create(client, name, args) {
    const result = await client.identifiers().create(name, args);
    const op = await waitOp(client, await result.op());
    return op.response;
}

async function story(opts) {
    const seen = {};
    const alice = await connect(opts.a, opts['passcode-a'], true);
    const bob = await connect(opts.b, opts['passcode-b'], true);
    seen.aliceAgent = alice.agent.pre;
    seen.bobAgent = bob.agent.pre;

    const aid1 = await create(alice, 'aid1');
    const aid2 = await create(alice, 'aid2', { algo: Algos.randy });
    seen.aid1 = aid1.i;
    seen.aid2 = aid2.i;

    let result = await alice.identifiers().interact('aid1', [aid1.i]);
    seen.ixn = (await waitOp(alice, await result.op())).response;
    result = await alice.identifiers().rotate('aid1');
    seen.rot = (await waitOp(alice, await result.op())).response;
    result = await alice.identifiers().rotate('aid2');
    seen.randyRot = (await waitOp(alice, await result.op())).response;

    seen.firstPage = await alice.identifiers().list(0, 0);
    seen.all = await alice.identifiers().list();
    await alice.identifiers().update('aid2', { name: 'aid2-renamed' });
    seen.renamed = await alice.identifiers().get('aid2-renamed');
    seen.aid1State = (await alice.identifiers().get('aid1')).state;

    result = await alice.identifiers().addEndRole('aid1', 'agent', alice.agent.pre);
    await waitOp(alice, await result.op());
    seen.aliceOobis = await alice.oobis().get('aid1', 'agent');

    const bobAid = await create(bob, 'bob');
    seen.bob = bobAid.i;
    result = await bob.identifiers().addEndRole('bob', 'agent', bob.agent.pre);
    await waitOp(bob, await result.op());
    seen.bobOobis = await bob.oobis().get('bob', 'agent');

    const resolvedByAlice = await waitOp(
        alice,
        await alice.oobis().resolve(seen.bobOobis.oobis[0], 'bob')
    );
    const resolvedByBob = await waitOp(
        bob,
        await bob.oobis().resolve(seen.aliceOobis.oobis[0], 'alice')
    );
    seen.resolvedByAlice = resolvedByAlice.response;
    seen.resolvedByBob = resolvedByBob.response;
    seen.aliceContacts = await alice.contacts().list();
    seen.bobContacts = await bob.contacts().list();

    seen.bobStateAtAlice = await alice.keyStates().get(seen.bob);
    seen.bobEventsAtAlice = await alice.keyEvents().get(seen.bob);
    seen.aid1StateAtBob = await bob.keyStates().get(seen.aid1);
    const query = await waitOp(alice, await alice.keyStates().query(seen.bob, '0'));
    seen.query = query.response;

    const operations = await alice.operations().list();
    seen.operationNames = operations.map((op) => op.name);
    for (const op of operations) {
        await alice.operations().delete(op.name);
    }
    seen.operationsAfterDelete = (await alice.operations().list()).length;
    seen.config = await alice.config().get();
    const admin = opts.a.split(',')[0];
    seen.agentPidx = (await (await fetch(`${admin}/agent/${alice.controller.pre}`)).json()).pidx;
    return seen;
}

async function again(opts) {
    const seen = {};
    const client = await connect(opts.a, opts['passcode-a'], false);
    seen.agent = client.agent.pre;
    seen.before = await client.identifiers().list();
    const created = await create(client, opts.name);
    seen.created = created;
    seen.after = await client.identifiers().list();
    seen.createdDetail = await client.identifiers().get(opts.name);
    return seen;
}

async function registry(opts) {
    const seen = {};
    const client = await connect(opts.a, opts['passcode-a'], true);
    seen.aid = await create(client, opts.name);
    const result = await client
        .registries()
        .create({ name: opts.name, registryName: opts.registry });
    seen.vcp = result.regser.sad;
    seen.ixn = result.serder.sad;
    seen.operation = await result.op();
    seen.waited = await waitOp(client, seen.operation);
    seen.depends = await client.operations().get(seen.operation.metadata.depends.name);
    seen.registries = await client.registries().list(opts.name);
    seen.state = (await client.identifiers().get(opts.name)).state;
    seen.schemas = await client.schemas().list();
    seen.escrows = await client.escrows().listReply('/end/role');
    return seen;
}

async function registries(opts) {
    const client = await connect(opts.a, opts['passcode-a'], false);
    return {
        registries: await client.registries().list(opts.name),
        state: (await client.identifiers().get(opts.name)).state,
    };
}

/** Polls `read` until `done(value)`, for at most 20 s; the last value. */
async function until(read, done) {
    const deadline = Date.now() + 20000;
    for (;;) {
        const value = await read();
        if (done(value) || Date.now() > deadline) return value;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

async function challenge(opts) {
    const seen = {};
    const alice = await connect(opts.a, opts['passcode-a'], true);
    const bob = await connect(opts.b, opts['passcode-b'], true);
    const aliceAid = await create(alice, 'alice');
    const bobAid = await create(bob, 'bob');
    seen.alice = aliceAid.i;
    seen.bob = bobAid.i;
    for (const [client, name] of [[alice, 'alice'], [bob, 'bob']]) {
        const result = await client.identifiers().addEndRole(name, 'agent', client.agent.pre);
        await waitOp(client, await result.op());
    }
    const aliceOobi = (await alice.oobis().get('alice', 'agent')).oobis[0];
    const bobOobi = (await bob.oobis().get('bob', 'agent')).oobis[0];
    await waitOp(alice, await alice.oobis().resolve(bobOobi, 'bob'));
    await waitOp(bob, await bob.oobis().resolve(aliceOobi, 'alice'));

    seen.words256 = (await alice.challenges().generate(256)).words;
    const words = (await alice.challenges().generate(128)).words;
    seen.words = words;
    const posted = Date.now();
    seen.sent = await bob.challenges().respond('bob', aliceAid.i, words);
    seen.respondMs = Date.now() - posted;
    const verifying = await alice.challenges().verify(bobAid.i, words);
    seen.verifying = verifying;
    const verified = await waitOp(alice, verifying);
    seen.deliveredMs = Date.now() - posted;
    seen.verified = verified;
    const said = verified.response.exn.d;
    seen.responded = (await alice.challenges().responded(bobAid.i, said)).status;
    seen.exchange = await alice.exchanges().get(said);
    seen.sentAtBob = await bob.exchanges().get(said);
    seen.contacts = await alice.contacts().list();

    const bobHab = await bob.identifiers().get('bob');
    seen.grant = await bob
        .exchanges()
        .send('bob', 'credential', bobHab, '/ipex/grant', { m: 'hello' }, {}, [aliceAid.i]);
    const notes = await until(
        () => alice.notifications().list(),
        (listed) => listed.total > 0
    );
    seen.notes = notes;
    if (notes.notes.length > 0) {
        seen.marked = await alice.notifications().mark(notes.notes[0].i);
    }
    seen.notesAfterMark = await alice.notifications().list();
    return seen;
}

async function challenged(opts) {
    const seen = {};
    const alice = await connect(opts.a, opts['passcode-a'], false);
    seen.contacts = await alice.contacts().list();
    seen.notes = await alice.notifications().list();
    if (opts.delete === 'yes') {
        for (const note of seen.notes.notes) {
            await alice.notifications().delete(note.i);
        }
        seen.notesAfterDelete = await alice.notifications().list();
    }
    return seen;
}

async function main() {
    const opts = parse(process.argv.slice(2));
    await ready();
    const run = { story, again, registry, registries, challenge, challenged }[opts.command];
    if (!run) throw new Error(`unknown command ${opts.command}`);
    emit({ ok: true, ...(await run(opts)) }, 0);
}

setTimeout(() => emit({ ok: false, error: 'timed out after 120 s' }, 1), 120000).unref();
main().catch((err) => emit({ ok: false, error: String(err && err.stack ? err.stack : err) }, 1));
