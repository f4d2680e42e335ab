#!/usr/bin/env node
// Credentials and IPEX with signify-ts 0.4.0 between three controllers of one keria (issuer,
// holder, legal entity), with witnessed identifiers: schema OOBIs, a registry (renamed), a QVI
// credential issued, queried, granted and admitted, a chained LE credential issued by the
// holder and admitted by the legal entity, the QVI revoked; and the refusals of bad inputs,
// each with the identifier's key state checked unchanged after it. Prints exactly one JSON
// line: {"ok":true, "refusals":{…}, "timings":{…}, …} (exit 0), or {"ok":false,"error","step"}.
//
//   node credentials.mjs ADMIN_URL BOOT_URL OPTIONS_JSON
//
// OPTIONS_JSON: {"wits":[…], "toad":N, "oobis":[witness OOBIs], "qvi": SCHEMA_OOBI,
//   "le": SCHEMA_OOBI, "prefix": passcode prefix (21+ characters with the suffix), "stop":
//   "after-issue-posted" (exit right after the issue POST, printing the operation)}

import {
    ready, SignifyClient, Tier, Saider, Serder, Ilks, versify, Protocols, Serials, interact,
} from 'signify-ts';

const QVI = 'EBfdlu8R27Fbx-ehrqwImnK-8Cm79sqbAQ4MmvEAYqao';
const LE = 'ENPXp1vQzRF6JwIuS-mp2U8Uf1MoADoP_GqQ62VsDZWY';

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function wait(client, op, timeout = 30000) {
    const deadline = Date.now() + timeout;
    while (!op.done) {
        if (Date.now() > deadline) throw new Error(`operation ${op.name} not done in ${timeout}ms`);
        await pause(10);
        op = await client.operations().get(op.name);
    }
    if (op.error) throw new Error(`operation ${op.name} failed: ${JSON.stringify(op.error)}`);
    return op;
}

async function until(what, probe, timeout = 20000) {
    const deadline = Date.now() + timeout;
    for (;;) {
        try {
            const found = await probe();
            if (found) return found;
        } catch (e) {
            if (Date.now() > deadline) throw e;
        }
        if (Date.now() > deadline) throw new Error(`${what}: not in ${timeout}ms`);
        await pause(20);
    }
}

async function client(admin, boot, passcode) {
    const c = new SignifyClient(admin, passcode, Tier.low, boot);
    const booted = await c.boot();
    if (!booted.ok && booted.status !== 409) throw new Error(`boot: ${booted.status}`);
    await c.connect();
    return c;
}

async function aid(c, name, options) {
    const result = await c.identifiers().create(name, { wits: options.wits ?? [], toad: options.toad ?? 0 });
    await wait(c, await result.op());
    const hab = await c.identifiers().get(name);
    await wait(c, await (await c.identifiers().addEndRole(name, 'agent', c.agent.pre)).op());
    const oobi = (await c.oobis().get(name, 'agent')).oobis[0];
    return { name, prefix: hab.prefix, oobi };
}

/// The body signify-ts's credentials().issue posts, with `change` applied before signing.
async function issueBody(c, name, args, change = (parts) => parts) {
    const hab = await c.identifiers().get(name);
    const keeper = c.manager.get(hab);
    const [, subject] = Saider.saidify({ d: '', ...args.a, dt: new Date().toISOString().replace('Z', '000+00:00') });
    const sad = { v: versify(Protocols.ACDC, undefined, Serials.JSON, 0), d: '', i: hab.prefix, ri: args.ri, s: args.s, a: subject };
    if (args.e) sad.e = args.e;
    if (args.r) sad.r = args.r;
    const [, acdc] = Saider.saidify(sad);
    const [, iss] = Saider.saidify({ v: versify(Protocols.KERI, undefined, Serials.JSON, 0), t: Ilks.iss, d: '', i: acdc.d, s: '0', ri: args.ri, dt: subject.dt });
    const parts = change({ acdc, iss, seal: { i: iss.i, s: iss.s, d: iss.d } });
    const sn = parseInt(hab.state.s, 16);
    const anc = interact({ pre: hab.prefix, sn: sn + 1, data: [parts.seal], dig: hab.state.d, version: undefined, kind: undefined });
    const sigs = await keeper.sign(new TextEncoder().encode(anc.raw));
    return { acdc: parts.acdc, iss: parts.iss, ixn: anc.sad, sigs, [keeper.algo]: keeper.params() };
}

/// Posts a body that must be refused; the status and reason, with the key state unchanged.
async function refused(c, name, path, method, body) {
    const before = (await c.identifiers().get(name)).state;
    const url = path;
    let status, text;
    try {
        const res = await c.fetch(url, method, body);
        status = res.status;
        text = await res.text();
    } catch (e) {
        const m = /- (\d{3}) [^-]*- (.*)$/s.exec(e.message);
        status = m ? Number(m[1]) : 0;
        text = m ? m[2] : e.message;
    }
    const after = (await c.identifiers().get(name)).state;
    return { status, reason: text, unchanged: before.s === after.s && before.d === after.d };
}

function timestamp() {
    return new Date().toISOString().replace('Z', '000+00:00');
}

async function main() {
    const [admin, boot, optionsText] = process.argv.slice(2);
    const options = JSON.parse(optionsText ?? '{}');
    const prefix = options.prefix ?? 'credentials-test-0123';
    const out = { ok: false, step: 'ready', refusals: {}, timings: {} };
    try {
        await ready();
        out.step = 'clients';
        const [issuer, holder, le] = await Promise.all(
            ['i', 'h', 'l'].map((suffix) => client(admin, boot, `${prefix}${suffix}`))
        );
        out.step = 'witness oobis';
        for (const c of [issuer, holder, le]) {
            for (const oobi of options.oobis ?? []) await wait(c, await c.oobis().resolve(oobi));
            await wait(c, await c.oobis().resolve(options.qvi));
            await wait(c, await c.oobis().resolve(options.le));
        }
        out.step = 'identifiers';
        const [iAid, hAid, lAid] = await Promise.all([aid(issuer, 'issuer', options), aid(holder, 'holder', options), aid(le, 'le', options)]);
        out.step = 'contacts';
        await wait(issuer, await issuer.oobis().resolve(hAid.oobi, 'holder'));
        await wait(holder, await holder.oobis().resolve(iAid.oobi, 'issuer'));
        await wait(holder, await holder.oobis().resolve(lAid.oobi, 'le'));
        await wait(le, await le.oobis().resolve(hAid.oobi, 'holder'));

        out.step = 'registry';
        const reg = await issuer.registries().create({ name: 'issuer', registryName: 'reg' });
        await wait(issuer, await reg.op());
        await issuer.registries().rename('issuer', 'reg', 'reg-1');
        const registries = await issuer.registries().list('issuer');
        out.registries = registries.map((r) => r.name);
        const regk = registries[0].regk;
        out.registry = await (await issuer.fetch(`/identifiers/issuer/registries/reg-1`, 'GET', null)).json();

        out.step = 'bad issues';
        const qviArgs = { ri: regk, s: QVI, a: { i: hAid.prefix, LEI: '5493001KJTIIGC8Y1R17' } };
        const post = (body) => refused(issuer, 'issuer', '/identifiers/issuer/credentials', 'POST', body);
        out.refusals.said = await post(await issueBody(issuer, 'issuer', qviArgs, (p) => ({ ...p, acdc: { ...p.acdc, a: { ...p.acdc.a, LEI: '5493001KJTIIGC8Y1R18' } } })));
        out.refusals.schema = await post(await issueBody(issuer, 'issuer', { ...qviArgs, a: { i: hAid.prefix, LEI: 5 } }));
        out.refusals.unknownSchema = await post(await issueBody(issuer, 'issuer', { ...qviArgs, s: 'EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }));
        out.refusals.registry = await post(await issueBody(issuer, 'issuer', { ...qviArgs, ri: 'EBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }));
        out.refusals.unanchored = await post(await issueBody(issuer, 'issuer', qviArgs, (p) => ({ ...p, seal: { ...p.seal, d: p.acdc.d } })));
        out.refusals.edge = await post(await issueBody(issuer, 'issuer', { ...qviArgs, e: Saider.saidify({ d: '', qvi: { n: 'ECCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC', s: QVI } })[1] }));

        out.step = 'issue';
        let started = performance.now();
        const issued = await issuer.credentials().issue('issuer', qviArgs);
        if (options.stop === 'after-issue-posted') {
            out.ok = true;
            out.operation = issued.op;
            out.said = issued.acdc.sad.d;
            delete out.step;
            return emit(out, 0);
        }
        await wait(issuer, issued.op);
        out.timings.issue = performance.now() - started;
        const qviSaid = issued.acdc.sad.d;
        out.qvi = qviSaid;

        out.step = 'query';
        const count = async (filter) => (await issuer.credentials().list({ filter })).length;
        out.queries = {
            issuer: await count({ '-i': iAid.prefix }),
            schema: await count({ '-s': QVI }),
            issuee: await count({ '-a-i': hAid.prefix }),
            all: await count({ '-i': iAid.prefix, '-s': QVI, '-a-i': hAid.prefix }),
            begins: await count({ '-a-LEI': { $begins: '5493' } }),
            eq: await count({ '-a-LEI': { $eq: '5493001KJTIIGC8Y1R17' } }),
            none: await count({ '-i': 'Enobody' }),
        };
        const range = await issuer.fetch('/credentials/query', 'POST', { filter: { '-s': QVI }, limit: 25 });
        out.contentRange = range.headers.get('content-range');
        out.refusals.operator = await refused(issuer, 'issuer', '/credentials/query', 'POST', { filter: { '-s': { $gt: 1 } } });
        const cesr = await issuer.credentials().get(qviSaid, true);
        out.cesrEndsWithAcdc = cesr.includes(`"d":"${qviSaid}"`) && cesr.includes(`-IAB${qviSaid}`);

        out.step = 'grant';
        started = performance.now();
        const cred = await issuer.credentials().get(qviSaid);
        const [grant, gsigs, gend] = await issuer.ipex().grant({
            senderName: 'issuer', acdc: new Serder(cred.sad), anc: new Serder(cred.anc), iss: new Serder(cred.iss),
            ancAttachment: cred.ancatc, recipient: hAid.prefix, datetime: timestamp(),
        });
        await wait(issuer, await issuer.ipex().submitGrant('issuer', grant, gsigs, gend, [hAid.prefix]));
        out.step = 'holder notified';
        const note = await until('grant note', async () => (await holder.notifications().list()).notes.find((n) => n.a.d === grant.said));
        out.state = await holder.credentials().state(regk, qviSaid);

        out.step = 'bad admit';
        const [badAdmit, bsigs, bend] = await holder.ipex().admit({ senderName: 'holder', message: '', grantSaid: 'EDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD', recipient: iAid.prefix, datetime: timestamp() });
        out.refusals.admit = await refused(holder, 'holder', '/identifiers/holder/ipex/admit', 'POST', { exn: badAdmit.sad, sigs: bsigs, atc: bend, rec: [iAid.prefix] });

        out.step = 'admit';
        const [admit, asigs, aend] = await holder.ipex().admit({ senderName: 'holder', message: '', grantSaid: note.a.d, recipient: iAid.prefix, datetime: timestamp() });
        await wait(holder, await holder.ipex().submitAdmit('holder', admit, asigs, aend, [iAid.prefix]));
        const held = await until('held credential', () => holder.credentials().get(qviSaid));
        out.timings.grantToAdmitted = performance.now() - started;
        out.held = { s: held.sad.s, status: held.status.s };
        await until('admit note', async () => (await issuer.notifications().list()).notes.find((n) => n.a.d === admit.said));

        out.step = 'bad grant';
        const [forged, fsigs, fend] = await issuer.ipex().grant({
            senderName: 'issuer', acdc: new Serder(cred.sad), anc: new Serder({ ...cred.anc, a: [] }), iss: new Serder(cred.iss),
            ancAttachment: cred.ancatc, recipient: hAid.prefix, datetime: timestamp(),
        });
        out.refusals.grant = await refused(issuer, 'issuer', '/identifiers/issuer/ipex/grant', 'POST', { exn: forged.sad, sigs: fsigs, atc: fend, rec: [hAid.prefix] });

        out.step = 'holder registry';
        const hreg = await holder.registries().create({ name: 'holder', registryName: 'hreg' });
        await wait(holder, await hreg.op());
        const hregk = (await holder.registries().list('holder'))[0].regk;
        out.step = 'chained issue';
        const leArgs = {
            ri: hregk, s: LE, a: { i: lAid.prefix, LEI: '5493001KJTIIGC8Y1R17' },
            e: Saider.saidify({ d: '', qvi: { n: qviSaid, s: QVI } })[1],
        };
        const leIssued = await holder.credentials().issue('holder', leArgs);
        await wait(holder, leIssued.op);
        const leSaid = leIssued.acdc.sad.d;
        const leCred = await holder.credentials().get(leSaid);
        const [leGrant, lsigs, lend] = await holder.ipex().grant({
            senderName: 'holder', acdc: new Serder(leCred.sad), anc: new Serder(leCred.anc), iss: new Serder(leCred.iss),
            ancAttachment: leCred.ancatc, recipient: lAid.prefix, datetime: timestamp(),
        });
        await wait(holder, await holder.ipex().submitGrant('holder', leGrant, lsigs, lend, [lAid.prefix]));
        const leNote = await until('LE grant note', async () => (await le.notifications().list()).notes.find((n) => n.a.d === leGrant.said));
        const [leAdmit, lasigs, laend] = await le.ipex().admit({ senderName: 'le', message: '', grantSaid: leNote.a.d, recipient: hAid.prefix, datetime: timestamp() });
        await wait(le, await le.ipex().submitAdmit('le', leAdmit, lasigs, laend, [hAid.prefix]));
        const leHeld = await until('LE held', () => le.credentials().get(leSaid));
        out.chain = leHeld.chains.map((c) => c.sad.d);

        out.step = 'revoke';
        const revoked = await issuer.credentials().revoke('issuer', qviSaid);
        await wait(issuer, revoked.op);
        out.revoked = (await issuer.credentials().get(qviSaid)).status.s;
        out.step = 'revoked source';
        // A chained credential from the revoked source, by the issuer, who holds its TEL.
        out.refusals.revokedSource = await post(await issueBody(issuer, 'issuer', {
            ri: regk, s: LE, a: { i: lAid.prefix, LEI: '5493001KJTIIGC8Y1R17' },
            e: Saider.saidify({ d: '', qvi: { n: qviSaid, s: QVI, o: 'NI2I' } })[1],
        }));

        out.step = 'delete';
        await holder.credentials().delete(leSaid);
        out.holderAfterDelete = (await holder.credentials().list()).length;
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        emit(out, 1);
    }
}

main().catch((e) => emit({ ok: false, error: String(e) }, 1));
