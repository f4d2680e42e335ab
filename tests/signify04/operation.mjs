#!/usr/bin/env node
// Connects an existing controller with signify-ts 0.4.0, waits for one long-running operation
// by name and, for a credential operation, reads the credential it names. Prints exactly one
// JSON line: {"ok":true,"operation","credential"} (exit 0), or {"ok":false,"error"} (exit 1).
//
//   node operation.mjs ADMIN_URL BOOT_URL PASSCODE OPERATION_NAME

import { ready, SignifyClient, Tier } from 'signify-ts';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function main() {
    const [admin, boot, passcode, name] = process.argv.slice(2);
    await ready();
    const client = new SignifyClient(admin, passcode, Tier.low, boot);
    await client.connect();
    let op = await client.operations().get(name);
    const deadline = Date.now() + 30000;
    while (!op.done) {
        if (Date.now() > deadline) throw new Error(`operation ${name} not done`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        op = await client.operations().get(name);
    }
    const out = { ok: true, operation: op };
    if (name.startsWith('credential.')) {
        out.credential = await client.credentials().get(name.slice('credential.'.length));
    }
    emit(out, 0);
}

main().catch((e) => emit({ ok: false, error: e instanceof Error ? e.message : String(e) }, 1));
