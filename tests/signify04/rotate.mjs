#!/usr/bin/env node
// Rotates a controller's passcode with signify-ts 0.4.0 against a running keria and prints
// exactly one JSON line: {"ok":true,...} (exit 0) or {"ok":false,"error","step"} (exit 1).
//
//   node rotate.mjs ADMIN_URL BOOT_URL PASSCODE NEW_PASSCODE [with-identifiers]
//
// Steps: boot and connect with PASSCODE (with-identifiers: create a salty and a randy
// identifier); client.rotate(NEW_PASSCODE, aids) from a client of PASSCODE; a request signed
// with the old key (expected to fail); connect with NEW_PASSCODE, list the identifiers, create
// and rotate a new one.
//
// Two things of signify-ts 0.4.0 shape the steps. Controller.rotate builds its rot at sequence
// number 1 from the client's current event, so the rotating client is one that has not
// connected (its current event is the inception): its rot supersedes the approval ixn, as a
// KERI recovery rotation. And a client made from NEW_PASSCODE derives another inception, so
// it is pointed at the controller AID of the first passcode before it connects.

import { readFileSync } from 'node:fs';
import { Algos, ready, SignifyClient, Tier } from 'signify-ts';

const version = JSON.parse(
    readFileSync(new URL('./node_modules/signify-ts/package.json', import.meta.url), 'utf8')
).version;

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function done(client, result) {
    const op = await result.op();
    if (!op.done) throw new Error(`operation ${op.name} is not done`);
    return op;
}

async function main() {
    const [admin, boot, passcode, newPasscode, mode] = process.argv.slice(2);
    if (newPasscode === undefined) {
        throw new Error('usage: node rotate.mjs ADMIN_URL BOOT_URL PASSCODE NEW_PASSCODE [with-identifiers]');
    }
    const out = { ok: false, signify: version, step: 'ready' };
    let sent;
    const realFetch = globalThis.fetch;
    globalThis.fetch = (url, init) => {
        if (init?.method === 'PUT' && String(url).includes('/agent/') && !String(url).includes('type=ixn')) {
            sent = JSON.parse(init.body);
        }
        return realFetch(url, init);
    };
    try {
        await ready();
        const first = new SignifyClient(admin, passcode, Tier.low, boot);
        out.controller = first.controller.pre;
        out.step = 'boot';
        const res = await first.boot();
        if (!res.ok) throw new Error(`boot: HTTP ${res.status}: ${await res.text()}`);
        out.step = 'connect';
        await first.connect();
        out.agent = first.agent.pre;
        const aids = [];
        if (mode === 'with-identifiers') {
            out.step = 'create';
            await done(first, await first.identifiers().create('alice'));
            await done(first, await first.identifiers().create('bob', { algo: Algos.randy }));
            aids.push(await first.identifiers().get('alice'));
            aids.push(await first.identifiers().get('bob'));
        }
        out.before = (await first.identifiers().list()).aids.map((aid) => aid.prefix);

        out.step = 'rotate';
        const rotating = new SignifyClient(admin, passcode, Tier.low, boot);
        const rotated = await rotating.rotate(newPasscode, aids);
        out.rotate = { status: rotated.status, body: await rotated.text() };
        if (rotated.status !== 204) throw new Error(`rotate: HTTP ${rotated.status}: ${out.rotate.body}`);
        out.sent = sent;

        out.step = 'old key';
        try {
            await first.identifiers().list();
            out.oldKey = 'accepted';
        } catch (e) {
            out.oldKey = e instanceof Error ? e.message : String(e);
        }

        out.step = 'reconnect';
        const second = new SignifyClient(admin, newPasscode, Tier.low, boot);
        Object.defineProperty(second.controller, 'pre', { value: out.controller });
        await second.connect();
        out.reconnect = { agent: second.agent.pre, controller: second.controller.pre };
        out.after = (await second.identifiers().list()).aids.map((aid) => aid.prefix);
        out.stored = {};
        for (const aid of aids) {
            const now = await second.identifiers().get(aid.name);
            out.stored[aid.prefix] = now.salty ?? now.randy;
        }

        out.step = 'new identifier';
        await done(second, await second.identifiers().create('carol'));
        const rotation = await done(second, await second.identifiers().rotate('carol'));
        out.carol = { sn: rotation.response.s, prefix: (await second.identifiers().get('carol')).prefix };
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        emit(out, 1);
    }
}

main().catch((e) => emit({ ok: false, error: String(e) }, 1));
