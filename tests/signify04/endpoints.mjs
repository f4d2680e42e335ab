#!/usr/bin/env node
// End roles and location schemes with signify-ts 0.4.0, as its own `endpoints` script uses them:
// an agent end role, a mailbox end role the identifier grants itself, that mailbox's location
// scheme, the mailbox OOBI, and the end roles by AID. Prints one JSON line.
//
//   node endpoints.mjs ADMIN_URL BOOT_URL PASSCODE

import { ready, SignifyClient, Tier } from 'signify-ts';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function done(client, op) {
    while (!op.done) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        op = await client.operations().get(op.name);
    }
    if (op.error) throw new Error(`${op.name}: ${JSON.stringify(op.error)}`);
    return op;
}

async function main() {
    const [admin, boot, passcode] = process.argv.slice(2);
    const out = { ok: false, step: 'ready' };
    try {
        await ready();
        const client = new SignifyClient(admin, passcode, Tier.low, boot);
        await client.boot();
        await client.connect();
        out.step = 'create';
        const cid = (await done(client, await (await client.identifiers().create('aid1')).op())).response.i;
        out.step = 'agent role';
        await done(client, await (await client.identifiers().addEndRole('aid1', 'agent', client.agent.pre)).op());
        out.step = 'mailbox role';
        await done(client, await (await client.identifiers().addEndRole('aid1', 'mailbox', cid)).op());
        out.step = 'loc scheme';
        out.locscheme = await done(client, await (await client.identifiers().addLocScheme('aid1', { url: 'https://mymailbox.com', scheme: 'https' })).op());
        out.step = 'mailbox oobi';
        out.mailboxOobis = (await client.oobis().get('aid1', 'mailbox')).oobis;
        out.step = 'end roles by aid';
        out.endRoles = await (await client.fetch(`/endroles/${cid}`, 'GET', null)).json();
        out.agentRoles = await (await client.fetch(`/endroles/${cid}/agent`, 'GET', null)).json();
        out.cid = cid;
        out.agent = client.agent.pre;
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = String(e?.message ?? e);
        emit(out, 1);
    }
}

main();
