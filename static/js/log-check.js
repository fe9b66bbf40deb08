// Checks, in the reader's own browser, that a certificate's events are entries of the council's
// transparency log: the tree head's Ed25519 signature against the published keys, then each
// event's audit path up to the signed root (RFC 9162, section 2.1.3.2). Nothing here trusts the
// page: it fetches the public JSON documents any third party can fetch.
"use strict";
(function () {
  const box = document.getElementById("log-check");
  if (!box || !window.crypto || !window.crypto.subtle || !window.fetch) {
    return;
  }
  const button = box.querySelector("button");
  const status = box.querySelector("[role=status]");
  const text = box.dataset;
  button.hidden = false;

  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const join = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  };
  const sha256 = async (data) => new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const getJson = async (url) => {
    const response = await fetch(url, { cache: "no-cache", headers: { Accept: "application/json" } });
    if (!response.ok) { throw new Error(url + ": " + response.status); }
    return response.json();
  };

  // The canonical JSON the council signs: sorted keys, no spaces (core/transparency.py).
  const headMessage = (head) => new TextEncoder().encode(
    JSON.stringify({ root_hash: head.root_hash, timestamp: head.timestamp, tree_size: head.tree_size, type: "council-transparency-sth/v1" })
  );

  async function headSigned(head) {
    const jwks = await getJson("/.well-known/jwks.json");
    const jwk = jwks.keys.find((key) => key.kid === head.key_id);
    if (!jwk) { return false; }
    const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, bytes(head.signature), headMessage(head));
  }

  async function rootFromPath(leafHash, index, size, path) {
    let fn = index;
    let sn = size - 1;
    let r = leafHash;
    for (const node of path.map(bytes)) {
      if (sn === 0) { return null; }
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(join([1], node, r));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(join([1], r, node));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  async function check() {
    const head = await getJson("/transparency/sth");
    let signed;
    try {
      signed = await headSigned(head);
    } catch (error) {
      signed = null; // a browser without Ed25519 in Web Crypto: the hashes are still checked
    }
    if (signed === false) { return [false, text.badSignature]; }
    const proofs = await getJson(box.dataset.proofs + "?tree_size=" + head.tree_size);
    const root = bytes(head.root_hash);
    for (const proof of proofs.proofs) {
      const leafHash = await sha256(join([0], bytes(proof.leaf.leaf_input)));
      const computed = await rootFromPath(leafHash, proof.leaf_index, head.tree_size, proof.audit_path);
      if (!same(leafHash, bytes(proof.leaf_hash)) || computed === null || !same(computed, root)) {
        return [false, text.badProof.replace("{index}", proof.leaf_index)];
      }
    }
    const done = (signed ? text.good : text.goodUnsigned)
      .replace("{count}", proofs.proofs.length)
      .replace("{size}", head.tree_size);
    return [true, done];
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = text.working;
    status.className = "";
    try {
      const [ok, message] = await check();
      status.textContent = message;
      status.className = ok ? "check-passed" : "check-failed";
    } catch (error) {
      status.textContent = text.failed + " " + error.message;
      status.className = "check-failed";
    } finally {
      button.disabled = false;
    }
  });
})();
