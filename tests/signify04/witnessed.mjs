#!/usr/bin/env node
// A witnessed identifier's life with signify-ts 0.4.0: boot and connect, optionally resolve
// witness OOBIs, create a salty or randy identifier with witnesses and a threshold, then
// interact and rotate (optionally cutting and adding witnesses), waiting on each operation.
// Prints exactly one JSON line: {"ok":true, "operations":[…], "state":…, "witnessOobis":…}
// on success (exit 0), {"ok":false,"error","step","operation"} otherwise (exit 1).
//
//   node witnessed.mjs ADMIN_URL BOOT_URL PASSCODE OPTIONS_JSON
//
// OPTIONS_JSON: {"algo":"salty"|"randy", "wits":[…], "toad":N, "oobis":[…], "steps":[…],
//   "rotate":{"cuts":[…],"adds":[…],"toad":N}, "name":"…", "timeout":ms, "create":false}
// steps: any of "create", "interact", "rotate", "endrole" (the agent end role), "submit",
// "await" (waits for the identifier's witness operation) (default: create, interact, rotate).
// With "steps": [] and "oobis", it only resolves those OOBIs.

import { ready, SignifyClient, Tier, Algos } from 'signify-ts';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function wait(client, op, timeout) {
    const deadline = Date.now() + timeout;
    while (!op.done) {
        if (Date.now() > deadline) {
            throw Object.assign(new Error(`operation ${op.name} not done in ${timeout}ms`), { op });
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
        op = await client.operations().get(op.name);
    }
    if (op.error) {
        throw Object.assign(new Error(`operation ${op.name} failed: ${JSON.stringify(op.error)}`), { op });
    }
    return op;
}

async function main() {
    const [admin, boot, passcode, optionsText] = process.argv.slice(2);
    const options = JSON.parse(optionsText ?? '{}');
    const timeout = options.timeout ?? 20000;
    const name = options.name ?? 'witnessed';
    const steps = options.steps ?? ['create', 'interact', 'rotate'];
    const out = { ok: false, step: 'ready', operations: [] };
    try {
        await ready();
        const client = new SignifyClient(admin, passcode, Tier.low, boot);
        out.step = 'boot';
        const booted = await client.boot();
        if (!booted.ok && booted.status !== 409) {
            throw new Error(`boot: HTTP ${booted.status}: ${await booted.text()}`);
        }
        out.step = 'connect';
        await client.connect();
        for (const oobi of options.oobis ?? []) {
            out.step = `resolve ${oobi}`;
            await wait(client, await client.oobis().resolve(oobi), timeout);
        }
        for (const step of steps) {
            out.step = step;
            let result;
            if (step === 'create') {
                result = await client.identifiers().create(name, {
                    algo: options.algo === 'randy' ? Algos.randy : Algos.salty,
                    wits: options.wits ?? [],
                    toad: options.toad,
                });
            } else if (step === 'interact') {
                result = await client.identifiers().interact(name, [{ i: 'EAAA', s: '0', d: 'EAAA' }]);
            } else if (step === 'rotate') {
                result = await client.identifiers().rotate(name, options.rotate ?? {});
            } else if (step === 'endrole') {
                result = await client.identifiers().addEndRole(name, 'agent', client.agent.pre);
            } else if (step === 'query') {
                const op = await client.keyStates().query(options.query.prefix, options.query.sn);
                const done = await wait(client, op, timeout);
                out.operations.push(done);
                out.queried = done.response;
                continue;
            } else if (step === 'await') {
                const aid = await client.identifiers().get(name);
                const op = await client.operations().get(`witness.${aid.prefix}`);
                out.operations.push(await wait(client, op, timeout));
                continue;
            } else if (step === 'submit') {
                const res = await client.fetch(`/identifiers/${name}/submit`, 'POST', {});
                out.operations.push(await wait(client, await res.json(), timeout));
                continue;
            } else {
                throw new Error(`unknown step ${step}`);
            }
            const op = await result.op();
            out.operation = op;
            out.operations.push(await wait(client, op, timeout));
            delete out.operation;
        }
        if (steps.length === 0 || steps.every((step) => step === 'query')) {
            delete out.step;
            out.ok = true;
            emit(out, 0);
            return;
        }
        out.step = 'state';
        const aid = await client.identifiers().get(name);
        out.state = aid.state;
        out.prefix = aid.prefix;
        out.witnessOobis = (await client.oobis().get(name, 'witness')).oobis;
        out.agentOobis = (await client.oobis().get(name, 'agent')).oobis;
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = String(e?.message ?? e);
        if (e?.op) out.operation = e.op;
        emit(out, 1);
    }
}

main();
