#!/usr/bin/env node
// Boots and connects one agent with signify-ts 0.4.0 against a running keria, lists its
// identifiers, and prints exactly one JSON line: {"ok":true,"signify":"0.4.0","controller",
// "agent","identifiers"} on success (exit 0), {"ok":false,"error","step"} otherwise (exit 1).
//
//   node client.mjs ADMIN_URL BOOT_URL PASSCODE

import { readFileSync } from 'node:fs';
import { ready, SignifyClient, Tier } from 'signify-ts';

const version = JSON.parse(
    readFileSync(new URL('./node_modules/signify-ts/package.json', import.meta.url), 'utf8')
).version;

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function main() {
    const [admin, boot, passcode] = process.argv.slice(2);
    if (passcode === undefined) {
        throw new Error('usage: node client.mjs ADMIN_URL BOOT_URL PASSCODE');
    }
    const out = { ok: false, signify: version, step: 'ready' };
    try {
        await ready();
        const client = new SignifyClient(admin, passcode, Tier.low, boot);
        out.controller = client.controller.pre;
        out.step = 'boot';
        const res = await client.boot();
        if (!res.ok) throw new Error(`boot: HTTP ${res.status}: ${await res.text()}`);
        out.step = 'connect';
        await client.connect();
        out.agent = client.agent.pre;
        out.step = 'list';
        out.identifiers = await client.identifiers().list();
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        emit(out, 1);
    }
}

main().catch((e) => emit({ ok: false, error: String(e) }, 1));
