#!/usr/bin/env node
// Resolves a credential schema's data OOBI with signify-ts 0.4.0 as its integration scripts
// do (client.oobis().resolve, then client.schemas().get and .list), and prints exactly one
// JSON line: {"ok":true,"operation","schema","schemas"} (exit 0), or {"ok":false,"error",
// "step"} (exit 1).
//
//   node schemas.mjs ADMIN_URL BOOT_URL PASSCODE SCHEMA_OOBI SAID

import { ready, SignifyClient, Tier } from 'signify-ts';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function main() {
    const [admin, boot, passcode, oobi, said] = process.argv.slice(2);
    if (said === undefined) {
        throw new Error('usage: node schemas.mjs ADMIN_URL BOOT_URL PASSCODE SCHEMA_OOBI SAID');
    }
    const out = { ok: false, step: 'ready' };
    try {
        await ready();
        const client = new SignifyClient(admin, passcode, Tier.low, boot);
        out.step = 'boot';
        const res = await client.boot();
        if (!res.ok) throw new Error(`boot: HTTP ${res.status}: ${await res.text()}`);
        out.step = 'connect';
        await client.connect();
        out.step = 'resolve';
        let op = await client.oobis().resolve(oobi, 'schema');
        const deadline = Date.now() + 30000;
        while (!op.done) {
            if (Date.now() > deadline) throw new Error(`operation ${op.name} not done`);
            await new Promise((resolve) => setTimeout(resolve, 25));
            op = await client.operations().get(op.name);
        }
        out.operation = op;
        out.step = 'get';
        out.schema = await client.schemas().get(said);
        out.step = 'list';
        out.schemas = await client.schemas().list();
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        emit(out, 1);
    }
}

main().catch((e) => emit({ ok: false, error: String(e) }, 1));
