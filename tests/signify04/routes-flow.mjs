// The routes of keria's issue 20 as a Signify user's program drives them, for any signify-ts
// (the caller passes the module): two controllers on one agency; Alice's OOBI by alias, Bob
// resolves it; the operation filter; Bob's contact updated, its image uploaded and read back,
// the contact deleted; Alice withdraws her agent's end role and her OOBIs stop being served.
// Prints one JSON line: {"ok": true, ...what was seen} (exit 0) or {"ok": false, "error", "step"}.
//
//   node routes.mjs ADMIN_URL BOOT_URL PASSCODE_A PASSCODE_B

function emit(result, code) {
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
}

async function connect(signify, admin, boot, passcode) {
    const client = new signify.SignifyClient(admin, passcode, signify.Tier.low, boot);
    const res = await client.boot();
    if (res.status !== 202) throw new Error(`boot: ${res.status} ${await res.text()}`);
    await client.connect();
    return client;
}

async function wait(client, op) {
    const deadline = Date.now() + 20000;
    while (!op.done) {
        if (Date.now() > deadline) throw new Error(`operation ${op.name} never finished`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        op = await client.operations().get(op.name);
    }
    if (op.error) throw new Error(`operation ${op.name} failed: ${JSON.stringify(op.error)}`);
    return op;
}

// A signed request with a body that is not JSON, signed as signify-ts signs its own; the
// answer's signature is checked as signify-ts checks it.
async function sendBytes(client, path, method, contentType, bytes) {
    const headers = new Headers();
    headers.set('Signify-Resource', client.controller.pre);
    headers.set('Signify-Timestamp', new Date().toISOString().replace('Z', '000+00:00'));
    headers.set('Content-Type', contentType);
    const signed = client.authn.sign(headers, method, path);
    const res = await fetch(client.url + path, { method, body: bytes, headers: signed });
    if (res.ok && !client.authn.verify(res.headers, method, path)) {
        throw new Error(`${method} ${path}: the answer's signature does not verify`);
    }
    return res;
}

export async function main(signify) {
    const [admin, boot, passcodeA, passcodeB] = process.argv.slice(2);
    const out = { ok: false, step: 'ready' };
    try {
        await signify.ready();
        out.step = 'connect';
        const alice = await connect(signify, admin, boot, passcodeA);
        const bob = await connect(signify, admin, boot, passcodeB);

        out.step = 'identifier';
        const created = await alice.identifiers().create('alice');
        await wait(alice, await created.op());
        const role = await alice.identifiers().addEndRole('alice', 'agent', alice.agent.pre);
        await wait(alice, await role.op());

        out.step = 'oobi by alias';
        const oobi = await alice.oobis().get('alice', 'agent');
        out.oobi = oobi;
        const url = oobi.oobis[0];
        const aid = (await alice.identifiers().get('alice')).prefix;

        out.step = 'resolve';
        await wait(bob, await bob.oobis().resolve(url, 'alice'));

        out.step = 'operations';
        const kinds = async (client, type) =>
            (await client.operations().list(type)).map((op) => op.name.split('.')[0]);
        out.operations = {
            all: await kinds(alice),
            endrole: await kinds(alice, 'endrole'),
            oobi: await kinds(bob, 'oobi'),
            none: await kinds(bob, 'endrole'),
        };

        out.step = 'contact update';
        out.updated = await bob.contacts().update(aid, { company: 'GLEIF', location: 'Zug' });
        out.got = await bob.contacts().get(aid);
        out.listed = await bob.contacts().list();

        out.step = 'contact image';
        const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
        const img = `/contacts/${aid}/img`;
        const uploaded = await sendBytes(bob, img, 'POST', 'image/png', png);
        const refused = await sendBytes(bob, img, 'POST', 'text/plain', 'not an image');
        const image = await bob.fetch(img, 'GET', null);
        const bytes = new Uint8Array(await image.arrayBuffer());
        out.image = {
            uploaded: uploaded.status,
            refused: refused.status,
            type: image.headers.get('content-type'),
            same: bytes.length === png.length && bytes.every((byte, i) => byte === png[i]),
        };

        out.step = 'contact delete';
        await bob.contacts().delete(aid);
        out.afterDelete = await bob.contacts().list();
        out.deletedGet = await bob.contacts().get(aid).then(
            () => 'found',
            (e) => (String(e).includes('404') ? 404 : String(e))
        );

        out.step = 'end role removal';
        const removed = await alice.fetch(
            `/identifiers/alice/endroles/agent/${alice.agent.pre}`,
            'DELETE',
            null
        );
        out.removed = removed.status;
        out.endroles = await (await alice.fetch('/identifiers/alice/endroles', 'GET', null)).json();
        out.oobiAfter = await alice.oobis().get('alice', 'agent');
        out.servedAfter = (await fetch(url)).status;
        delete out.step;
        out.ok = true;
        emit(out, 0);
    } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        emit(out, 1);
    }
}
