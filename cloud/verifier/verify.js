// Marketday's static certificate verifier: checks a piece's certificate in the browser,
// with the atelier's published keys (keyring.js) and WebCrypto's Ed25519, by the rules of
// marketday-provenance (provenance/src/lib.rs) and in its words (words in keyring.js).
// No server, no third-party code: a copy of this folder keeps working after the cloud is gone.
"use strict";

(function () {
  const DATA = window.MARKETDAY_VERIFIER;
  const CONTEXT = new TextEncoder().encode("marketday provenance certificate\0");
  const MAX_TOKEN_CHARS = 1024;
  const MAX_DROP_ID = 40;
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function language() {
    const asked = new URLSearchParams(location.search).get("lang");
    const wanted = [asked].concat(navigator.languages || [navigator.language]);
    for (const w of wanted) {
      const code = (w || "").toLowerCase().split(/[-_]/)[0];
      if (DATA.words[code]) return code;
    }
    return "en";
  }
  const LANG = language();

  // A message in the page's language, its {placeholders} filled in one pass.
  function t(id, args) {
    const template = (DATA.words[LANG] && DATA.words[LANG][id]) || id;
    return template.replace(/\{([a-z]+)\}/g, (m, name) => (args && name in args ? String(args[name]) : m));
  }

  function day(date) {
    const locale = { en: "en-GB", fr: "fr-FR", de: "de-DE" }[LANG] || "en-GB";
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(date);
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // RFC 4648 base32 without padding, strict as data-encoding's BASE32_NOPAD: no stray
  // characters, no impossible length, no bits set past the last byte.
  function base32(text) {
    if ([1, 3, 6].includes(text.length % 8)) return null;
    const out = [];
    let bits = 0, value = 0;
    for (const c of text) {
      const v = ALPHABET.indexOf(c);
      if (v < 0) return null;
      value = (value << 5) | v;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >> bits) & 0xff);
      }
    }
    if (value & ((1 << bits) - 1)) return null;
    return new Uint8Array(out);
  }

  // The token part of a certificate URL, or a bare token; null for anything else.
  function tokenOf(text) {
    const lower = text.slice(0, 8).toLowerCase();
    if (lower.startsWith("https://") || lower.startsWith("http://")) {
      const rest = text.slice(text.indexOf("://") + 3);
      const slash = rest.indexOf("/");
      if (slash < 0) return null;
      const path = rest.slice(slash).split(/[?#]/)[0];
      let at = path.lastIndexOf("/P/");
      if (at < 0) at = path.lastIndexOf("/p/");
      return at < 0 ? null : path.slice(at + 3);
    }
    return text.length >= 40 && /^[A-Z2-7]+$/.test(text) ? text : null;
  }

  function parse(bytes) {
    const SHORT = "the code is cut short";
    let at = 0;
    const take = (n) => {
      if (at + n > bytes.length) throw SHORT;
      const part = bytes.slice(at, at + n);
      at += n;
      return part;
    };
    const u16 = () => { const b = take(2); return (b[0] << 8) | b[1]; };
    const text = (max, why) => {
      const len = take(1)[0];
      if (len > max) throw why;
      const b = take(len);
      if (b.some((x) => x > 127)) throw why;
      return String.fromCharCode(...b);
    };
    if (take(1)[0] !== 1) throw "the certificate is in a newer format than this kiosk reads: update the kiosk";
    const flags = take(1)[0];
    if (flags & ~1) throw "the certificate has fields this kiosk does not know";
    const keyId = hex(take(4));
    const days = u16(), number = u16(), size = u16();
    const assay = flags & 1 ? hex(take(32)) : null;
    const drop = text(MAX_DROP_ID, "the certificate's drop is unreadable");
    const serialText = text(40, "the certificate's serial is unreadable");
    const bodyLength = at;
    const signature = take(64);
    if (at !== bytes.length) throw "the code has extra data after the signature";
    const serial = serialText.trim().toUpperCase();
    if (!serial || serial.length > 40 || !/^[A-Z0-9\/-]+$/.test(serial)) throw "the certificate's serial is unreadable";
    if (number === 0 || size === 0 || number > size) throw "the certificate's edition is impossible";
    const issued = new Date(Date.UTC(2020, 0, 1) + days * 86400000);
    return { keyId, issued, number, size, assay, drop, serial, body: bytes.slice(0, bodyLength), signature };
  }

  function read(text) {
    const token = tokenOf(text.trim());
    if (token === null) return { kind: "not-ours" };
    if (token.length > MAX_TOKEN_CHARS) return { kind: "damaged", why: "the code is far too long to be a certificate" };
    const bytes = base32(token.toUpperCase());
    if (!bytes) return { kind: "damaged", why: "the code's text is garbled" };
    try {
      return { kind: "certificate", cert: parse(bytes) };
    } catch (why) {
      return { kind: "damaged", why: String(why) };
    }
  }

  const isoDay = (text) => (text ? new Date(text + "T00:00:00Z") : null);

  async function verify(reading) {
    if (reading.kind === "not-ours") return { word: "Not a certificate", tone: "warn",
      said: t("This QR code is not a Marketday certificate. Hold the piece's own tag to the camera.") };
    if (reading.kind === "damaged") return { word: "Tag unreadable", tone: "warn",
      said: t("The tag could not be read: {why}. Try again, or ask staff.", { why: t(reading.why) }) };
    const cert = reading.cert;
    const key = DATA.keys.find((k) => k.key_id === cert.keyId);
    if (!key) return { word: "Unknown signer", tone: "warn", cert,
      said: t("Signed with key {key}, which this stall does not know. It may be genuine elsewhere; ask the atelier.", { key: cert.keyId }) };
    const message = new Uint8Array(CONTEXT.length + cert.body.length);
    message.set(CONTEXT);
    message.set(cert.body, CONTEXT.length);
    let good = false;
    try {
      const publicKey = await crypto.subtle.importKey("raw", hexBytes(key.public_key), { name: "Ed25519" }, false, ["verify"]);
      good = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, cert.signature, message);
    } catch (e) {
      return { word: "Cannot check now", tone: "warn", said: t("This browser cannot check Ed25519 signatures. Open this page in a current browser.") };
    }
    if (!good) return { word: "Not genuine", tone: "bad", cert,
      said: t("This certificate claims to come from {atelier}, but its signature does not match. Do not rely on it.", { atelier: key.atelier }) };
    if (key.revoked_on) return { word: "Withdrawn key", tone: "warn", cert, atelier: key.atelier,
      said: t("{atelier} withdrew this signing key on {day} ({reason}). Ask staff to check the piece.",
        { atelier: key.atelier, day: day(isoDay(key.revoked_on)), reason: key.revoked_reason || "" }) };
    const from = isoDay(key.valid_from), until = isoDay(key.valid_until);
    if (cert.issued < from || (until && cert.issued > until)) return { word: "Unknown signer", tone: "warn", cert,
      said: t("Dated {day}, when the atelier was not using this key. Ask the atelier.", { day: day(cert.issued) }) };
    return { word: "Genuine", tone: "good", cert, atelier: key.atelier, genuine: true,
      said: t("Signed by {atelier}. The certificate has not been altered.", { atelier: key.atelier }) };
  }

  function hexBytes(text) {
    return new Uint8Array(text.match(/../g).map((b) => parseInt(b, 16)));
  }

  function edition(cert) {
    const width = String(cert.size).length;
    return t("{number} of {size}", { number: String(cert.number).padStart(width, "0"), size: cert.size });
  }

  function show(verdict) {
    const out = document.getElementById("verdict");
    out.hidden = false;
    out.className = "verdict " + verdict.tone;
    out.querySelector(".sign").textContent = { good: "✓", bad: "✗", warn: "!" }[verdict.tone];
    out.querySelector("h1 span:last-child").textContent = t(verdict.word);
    out.querySelector("p").textContent = verdict.said;
    const facts = document.getElementById("facts");
    facts.textContent = "";
    const claim = document.getElementById("claim");
    claim.hidden = true;
    const cert = verdict.cert;
    if (cert && verdict.genuine) {
      const rows = [["Edition", edition(cert)], ["Serial", cert.serial, true], ["Atelier", verdict.atelier],
        ["Certificate issued", day(cert.issued)]];
      if (cert.assay) rows.push(["Assay report SHA-256", cert.assay, true]);
      for (const [label, value, code] of rows) {
        const div = document.createElement("div");
        const dt = document.createElement("dt");
        dt.textContent = t(label);
        const dd = document.createElement("dd");
        dd.textContent = value;
        if (code) dd.className = "code";
        div.append(dt, dd);
        facts.append(div);
      }
      document.getElementById("assay-note").hidden = !cert.assay;
    } else if (cert) {
      // What a tag that did not verify says is only what it says.
      const facts = t("Serial {serial}.", { serial: cert.serial }) + " " + t("Issued {day}.", { day: day(cert.issued) });
      claim.querySelector("p").textContent = t("The tag claims: {edition}", { edition: edition(cert) });
      claim.querySelector("p + p").textContent = t("Unconfirmed: {facts}", { facts });
      claim.hidden = false;
      document.getElementById("assay-note").hidden = true;
    } else {
      document.getElementById("assay-note").hidden = true;
    }
    document.getElementById("piece").hidden = !(cert && verdict.genuine);
  }

  // What was asked: ?t=…, #…, or a /P/<TOKEN> path served by a static host's fallback page.
  function asked() {
    const query = new URLSearchParams(location.search).get("t");
    if (query) return query;
    if (location.hash.length > 1) return decodeURIComponent(location.hash.slice(1));
    const path = location.pathname;
    const at = Math.max(path.lastIndexOf("/P/"), path.lastIndexOf("/p/"));
    return at >= 0 ? decodeURIComponent(path.slice(at + 3)) : null;
  }

  document.documentElement.lang = LANG;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  const field = document.getElementById("t");
  field.placeholder = t("Paste the link or the code");
  const text = asked();
  if (text) {
    field.value = text;
    verify(read(text)).then(show);
  }
})();
