/* The card checker without a connection (/verify/offline; also loaded by /verify).

   On every page that loads it: registers the checker's service worker (/verify/sw.js,
   scope /verify), keeps the offline page and its files in Cache Storage, and saves the
   published public keys (/verify/keys.json) in localStorage.

   On the offline page (form#offline-verifier): checks a pasted or scanned card code
   here, with WebCrypto Ed25519 and the saved keys, by the same rule as the server
   (services/card_statements.py): a signature by a known key, then the validity period.
   Where the browser has no Ed25519 in WebCrypto, the page says so. */
(function () {
  "use strict";
  var CACHE = "furusato-verify-v1";
  var STORED_KEYS = "furusato-verify-keys";
  var FORMAT_VERSION = 1;
  var MAX_INPUT_CHARS = 2000;
  var CLOCK_SKEW_MS = 60 * 1000;
  /* RFC 8032, test 1: a valid public key, to ask the browser whether it knows Ed25519. */
  var PROBE_KEY = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  var script = document.currentScript;
  var data = script ? script.dataset : {};

  /* Strict base64url in its one canonical spelling, as on the server. */
  function bytesOf(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) {
      throw new Error("not base64url");
    }
    var binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    var canonical = btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    if (canonical !== text) {
      throw new Error("not canonical base64url");
    }
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function storedKeys() {
    try {
      return JSON.parse(window.localStorage.getItem(STORED_KEYS));
    } catch (error) {
      return null;
    }
  }

  function refreshKeys() {
    return fetch(data.keys, { cache: "no-cache" }).then(function (response) {
      if (!response.ok) {
        throw new Error("keys not available");
      }
      return response.json();
    }).then(function (jwks) {
      var saved = { saved_at: new Date().toISOString(), jwks: jwks };
      window.localStorage.setItem(STORED_KEYS, JSON.stringify(saved));
      return saved;
    });
  }

  function keepOfflinePage() {
    if (!("serviceWorker" in navigator) || !("caches" in window)) {
      return Promise.resolve();
    }
    var urls = [data.offline];
    document.querySelectorAll('link[rel="stylesheet"], script[src]').forEach(function (el) {
      urls.push(el.href || el.src);
    });
    return navigator.serviceWorker.register(data.worker, { scope: data.scope })
      .then(function () { return caches.open(CACHE); })
      .then(function (cache) { return cache.addAll(urls); });
  }

  function statementText(entered) {
    entered = (entered || "").trim();
    if (entered.indexOf("?") === -1) {
      return entered;
    }
    try {
      return (new URL(entered, window.location.href).searchParams.get("s") || "").trim();
    } catch (error) {
      return "";
    }
  }

  function decoded(text) {
    var parts = text.split(".");
    if (text.length > MAX_INPUT_CHARS || parts.length !== 2) {
      return null;
    }
    try {
      var json = new TextDecoder("utf-8", { fatal: true }).decode(bytesOf(parts[0]));
      var body = JSON.parse(json);
      var signature = bytesOf(parts[1]);
      if (!Array.isArray(body) || body.length !== 10 || body[0] !== FORMAT_VERSION ||
          typeof body[1] !== "string") {
        return null;
      }
      return { payload: parts[0], signature: signature, body: body };
    } catch (error) {
      return null;
    }
  }

  function isInt(value) {
    return typeof value === "number" && Math.floor(value) === value;
  }

  function claimsOf(body) {
    var ok = isInt(body[2]) && typeof body[3] === "string" && typeof body[4] === "string" &&
      (body[5] === "basic" || body[5] === "premium") &&
      (body[6] === null || /^\d{4}-\d{2}-\d{2}$/.test(body[6])) &&
      (body[7] === 0 || body[7] === 1) && isInt(body[8]) && isInt(body[9]);
    if (!ok) {
      return null;
    }
    return {
      site: body[4], tier: body[5], premium_until: body[6], long_stay: body[7] === 1,
      issued_at: body[8] * 1000, expires_at: body[9] * 1000
    };
  }

  function importKey(x) {
    return crypto.subtle.importKey("raw", bytesOf(x), { name: "Ed25519" }, false, ["verify"]);
  }

  function ed25519Supported() {
    if (!window.crypto || !crypto.subtle) {
      return Promise.resolve(false);
    }
    return importKey(PROBE_KEY).then(function () { return true; }, function () { return false; });
  }

  function findKey(jwks, kid) {
    var keys = (jwks && Array.isArray(jwks.keys)) ? jwks.keys : [];
    for (var i = 0; i < keys.length; i += 1) {
      if (keys[i].kid === kid && keys[i].kty === "OKP" && keys[i].crv === "Ed25519") {
        return keys[i];
      }
    }
    return null;
  }

  /* Resolves to {valid: true, claims} or {valid: false, reason}. */
  function verify(entered, jwks, now) {
    var statement = decoded(statementText(entered));
    if (!statement) {
      return Promise.resolve({ valid: false, reason: "malformed" });
    }
    var jwk = findKey(jwks, statement.body[1]);
    if (!jwk) {
      return Promise.resolve({ valid: false, reason: "unknown_key" });
    }
    return importKey(jwk.x).then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, statement.signature,
                                  new TextEncoder().encode(statement.payload));
    }).then(function (genuine) {
      if (!genuine) {
        return { valid: false, reason: "bad_signature" };
      }
      var claims = claimsOf(statement.body);
      if (!claims) {
        return { valid: false, reason: "malformed" };
      }
      if (claims.issued_at > now + CLOCK_SKEW_MS) {
        return { valid: false, reason: "not_yet_valid" };
      }
      if (now >= claims.expires_at) {
        return { valid: false, reason: "expired" };
      }
      return { valid: true, claims: claims };
    }, function () {
      return { valid: false, reason: "bad_signature" };
    });
  }

  function formatDate(isoDate) {
    var parts = isoDate.split("-").map(Number);
    return new Intl.DateTimeFormat(document.documentElement.lang || "ja", {
      year: "numeric", month: "long", day: "numeric", timeZone: "UTC"
    }).format(new Date(Date.UTC(parts[0], parts[1] - 1, parts[2])));
  }

  function formatTime(ms) {
    return new Intl.DateTimeFormat(document.documentElement.lang || "ja", {
      year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit",
      timeZone: "Asia/Tokyo"
    }).format(new Date(ms));
  }

  function setClaim(panel, name, text) {
    panel.querySelector('[data-claim="' + name + '"]').textContent = text;
  }

  function show(area, result) {
    var valid = area.querySelector('[data-verdict="valid"]');
    var invalid = area.querySelector('[data-verdict="invalid"]');
    valid.hidden = !result.valid;
    invalid.hidden = result.valid;
    if (result.valid) {
      var claims = result.claims;
      var tier = valid.querySelector('[data-claim="tier"]');
      setClaim(valid, "site", claims.site);
      tier.textContent = tier.dataset[claims.tier];
      valid.querySelector('[data-claim="long_stay"]').hidden = !claims.long_stay;
      valid.querySelector('[data-claim-row="premium_until"]').hidden = !claims.premium_until;
      setClaim(valid, "premium_until", claims.premium_until ? formatDate(claims.premium_until) : "");
      setClaim(valid, "expires_at", formatTime(claims.expires_at));
      return;
    }
    var shown = (result.reason === "expired" || result.reason === "not_yet_valid")
      ? result.reason : "not_genuine";
    invalid.querySelectorAll("[data-reason]").forEach(function (el) {
      el.hidden = el.dataset.reason !== shown;
    });
  }

  function showStatus(name, visible) {
    var el = document.querySelector('[data-status="' + name + '"]');
    if (el) {
      el.hidden = !visible;
    }
  }

  function showKeys(saved) {
    showStatus("keys-saved", !!saved);
    showStatus("no-keys", !saved);
    var time = document.querySelector("[data-keys-time]");
    if (saved && time) {
      time.textContent = formatTime(Date.parse(saved.saved_at));
    }
  }

  function wireChecker(form) {
    var area = document.getElementById("offline-result");
    var input = form.querySelector('input[name="s"]');
    function check(entered) {
      var saved = storedKeys();
      return verify(entered, saved && saved.jwks, Date.now()).then(function (result) {
        show(area, result);
        area.focus();
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      check(input.value);
    });
    var fromAddress = new URLSearchParams(window.location.search).get("s");
    if (fromAddress) {
      input.value = fromAddress;
      check(fromAddress);
    }
  }

  function start() {
    var form = document.getElementById("offline-verifier");
    var ready = refreshKeys().catch(function () { return storedKeys(); });
    keepOfflinePage().catch(function () {
      /* The checker still works online when the browser does not keep the page. */
    });
    if (!form) {
      return;
    }
    ed25519Supported().then(function (supported) {
      if (!supported) {
        showStatus("unsupported", true);
        return;
      }
      ready.then(function (saved) {
        showKeys(saved);
        wireChecker(form);
        form.dataset.ready = "true";
      });
    });
  }

  start();
})();
