/* Service worker of the registration card (served from /my/sw.js, scope /my/card).
   Network first; when offline, the copy kept in Cache Storage. The copy is dropped as
   soon as the server stops showing the card (the person signed out), so a shared
   device does not keep someone's card. See views/card.py for the no-store choice. */
"use strict";
var CACHE = "furusato-card-v1";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (key) {
        return key.indexOf("furusato-card-") === 0 && key !== CACHE;
      }).map(function (key) { return caches.delete(key); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keep(request, response) {
  return caches.open(CACHE).then(function (cache) { return cache.put(request, response); });
}

function signedOut(request, response) {
  return request.mode === "navigate" &&
    (response.type === "opaqueredirect" || response.status === 401 || response.status === 403);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        event.waitUntil(keep(request, response.clone()));
      } else if (signedOut(request, response)) {
        event.waitUntil(caches.delete(CACHE));
      }
      return response;
    }, function () {
      return caches.match(request).then(function (cached) {
        return cached || Response.error();
      });
    })
  );
});
