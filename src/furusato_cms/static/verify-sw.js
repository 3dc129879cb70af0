/* Service worker of the card checker (served from /verify/sw.js, scope /verify).
   Network first. Without a network it answers from the copies verify-offline.js put in
   Cache Storage, and a scanned /verify?s=... opens the offline checker, which reads
   the code from the address and checks it with the keys saved on this device. */
"use strict";
var CACHE = "furusato-verify-v1";
var OFFLINE_PAGE = new URL("offline", self.location.href).href;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("furusato-verify-") === 0 && key !== CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function fromCache(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (cached) {
      if (cached) {
        return cached;
      }
      if (request.mode === "navigate") {
        return cache.match(OFFLINE_PAGE).then(function (page) { return page || Response.error(); });
      }
      return Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(fetch(request).catch(function () { return fromCache(request); }));
});
