#!/usr/bin/env node
// Delegation with signify-ts 0.4.0, single-sig, on both sides: a delegator (on one keria) and
// a delegate (on the same or another keria), each its own Signify controller, and a third
// controller that only resolves the delegate's OOBI.
// Prints exactly one JSON line: {"ok":true, …} on success (exit 0), {"ok":false,"error","step"}
// otherwise (exit 1).
//
//   node delegation.mjs OPTIONS_JSON
//
// OPTIONS_JSON: {
//   "delegator": {"admin","boot","passcode"}, "delegate": {…}, "third": {…},
//   "wits": [...], "toad": N            the delegator's witnesses (none by default)
//   "delegateWits": [...], "delegateToad": N
//   "oobis": [...]                      OOBIs each controller resolves first (witnesses')
//   "phase": "all" | "request" | "approve"
//       request: the delegator's identifier, the delegate's dip (left pending);
//       approve: the delegator approves, the delegate's operation completes;
//       all: both, then a delegated rotation and the third controller's resolution.
//   "badAnchor": true                   the delegator first anchors a seal of another SAID
//   "unknownDelegator": true            only: a dip naming a delegator never resolved
//   "timeout": ms }

import { ready, SignifyClient, Tier } from 'signify-ts';

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
        await sleep(20);
        op = await client.operations().get(op.name);
    }
    if (op.error) {
        throw Object.assign(new Error(`operation ${op.name} failed: ${JSON.stringify(op.error)}`), { op });
    }
    return op;
}

async function connect({ admin, boot, passcode }) {
    const client = new SignifyClient(admin, passcode, Tier.low, boot);
    const booted = await client.boot();
    if (!booted.ok && booted.status !== 409) {
        throw new Error(`boot: HTTP ${booted.status}: ${await booted.text()}`);
    }
    await client.connect();
    return client;
}

async function resolve(client, url, alias, timeout) {
    return wait(client, await client.oobis().resolve(url, alias), timeout);
}

async function main() {
    const options = JSON.parse(process.argv[2] ?? '{}');
    const timeout = options.timeout ?? 30000;
    const phase = options.phase ?? 'all';
    const out = { ok: false, step: 'ready' };
    try {
        await ready();
        out.step = 'connect';
        const delegator = await connect(options.delegator);
        const delegate = await connect(options.delegate);
        for (const client of [delegator, delegate]) {
            for (const oobi of options.oobis ?? []) {
                await resolve(client, oobi, undefined, timeout);
            }
        }
        if (options.unknownDelegator) {
            out.step = 'unknown delegator';
            const unknown = 'EBFiU0Avi9N0QIRfY5R-ppLa4YIFFd8T1Xp5pVN2WZcQ';
            try {
                const result = await delegate.identifiers().create('orphan', { delpre: unknown });
                await result.op();
                throw new Error('a dip naming an unknown delegator was accepted');
            } catch (e) {
                out.refusal = String(e?.message ?? e);
            }
            out.identifiers = (await delegate.identifiers().list()).aids.map((aid) => aid.name);
            out.operations = await delegate.operations().list();
            delete out.step;
            out.ok = true;
            emit(out, 0);
            return;
        }
        let delegatorAid;
        if (phase !== 'approve') {
            out.step = 'delegator identifier';
            const icp = await delegator.identifiers().create('delegator', {
                wits: options.wits ?? [],
                toad: options.toad,
            });
            await wait(delegator, await icp.op(), timeout);
            await wait(
                delegator,
                await (await delegator.identifiers().addEndRole('delegator', 'agent', delegator.agent.pre)).op(),
                timeout
            );
            delegatorAid = await delegator.identifiers().get('delegator');
            const oobi = (await delegator.oobis().get('delegator', 'agent')).oobis[0];
            out.step = 'delegate resolves the delegator';
            await resolve(delegate, oobi, 'delegator', timeout);
            out.step = 'dip';
            const dip = await delegate.identifiers().create('delegate', {
                delpre: delegatorAid.prefix,
                wits: options.delegateWits ?? [],
                toad: options.delegateToad,
            });
            const op = await dip.op();
            out.operation = op;
            const aid = await delegate.identifiers().get('delegate');
            out.prefix = aid.prefix;
            out.pendingState = aid.state;
            out.step = 'blocked while pending';
            try {
                const ixn = await delegate.identifiers().interact('delegate', []);
                await ixn.op();
                out.blocked = null;
            } catch (e) {
                out.blocked = String(e?.message ?? e);
            }
            out.pendingEvents = await (async () => {
                try {
                    return await delegate.keyEvents().get(aid.prefix);
                } catch (e) {
                    return String(e?.message ?? e);
                }
            })();
        }
        if (phase === 'request') {
            delete out.step;
            out.ok = true;
            emit(out, 0);
            return;
        }
        delegatorAid ??= await delegator.identifiers().get('delegator');
        const prefix = out.prefix ?? (await delegate.identifiers().get('delegate')).prefix;
        out.prefix = prefix;
        const pending = await delegate.operations().get(`delegation.${prefix}`);
        if (options.badAnchor) {
            out.step = 'bad anchor';
            const wrong = { i: prefix, s: '0', d: delegatorAid.prefix };
            await wait(delegator, await (await delegator.identifiers().interact('delegator', wrong)).op(), timeout);
            await sleep(2500);
            out.afterBadAnchor = await delegate.operations().get(pending.name);
        }
        out.step = 'notifications';
        out.notifications = (await delegator.notifications().list()).notes;
        out.step = 'approve';
        const anchor = { i: prefix, s: '0', d: prefix };
        const started = performance.now();
        const approval = await delegator.delegations().approve('delegator', anchor);
        const approved = await approval.op();
        out.approvalOperation = approved;
        const done = await wait(delegate, pending, timeout);
        out.approvalMs = performance.now() - started;
        out.delegatorOperation = await wait(delegator, approved, timeout);
        out.delegation = done;
        out.state = (await delegate.identifiers().get('delegate')).state;
        if (phase === 'all') {
            out.step = 'drt';
            const rot = await delegate.identifiers().rotate('delegate', {});
            const rotOp = await rot.op();
            out.rotationOperation = rotOp;
            const rotated = await delegate.identifiers().get('delegate');
            const seal = { i: prefix, s: '1', d: rotated.state.d };
            const rotStarted = performance.now();
            const ixn = await delegator.delegations().approve('delegator', seal);
            const rotDone = await wait(delegate, rotOp, timeout);
            out.rotationApprovalMs = performance.now() - rotStarted;
            out.rotation = rotDone;
            await wait(delegator, await ixn.op(), timeout);
            out.step = 'third party';
            await wait(
                delegate,
                await (await delegate.identifiers().addEndRole('delegate', 'agent', delegate.agent.pre)).op(),
                timeout
            );
            const oobi = (await delegate.oobis().get('delegate', 'agent')).oobis[0];
            out.delegateOobi = oobi;
            if (options.third) {
                const third = await connect(options.third);
                const resolved = await resolve(third, oobi, 'delegate', timeout);
                out.thirdParty = resolved.response;
                out.thirdPartyEvents = await third.keyEvents().get(prefix);
            }
            out.delegateEvents = await delegate.keyEvents().get(prefix);
        }
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
