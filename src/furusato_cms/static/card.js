/* The registration card page: the print button, and offline use. It registers the
   card's service worker (/my/sw.js, scope /my/card) and puts this page and its
   stylesheets and scripts into the worker's cache, so the card opens without a
   connection next time. Why this is compatible with Cache-Control: no-store is
   explained in views/card.py. */
(function () {
  "use strict";
  var CACHE = "furusato-card-v1";
  var script = document.currentScript;

  var printButton = document.getElementById("print-card");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  if (!script || !("serviceWorker" in navigator) || !("caches" in window)) {
    return;
  }

  function pageAssets() {
    var urls = [window.location.href.split("#")[0]];
    document.querySelectorAll('link[rel="stylesheet"], script[src]').forEach(function (el) {
      urls.push(el.href || el.src);
    });
    return urls;
  }

  navigator.serviceWorker
    .register(script.dataset.worker, { scope: script.dataset.scope })
    .then(function () { return caches.open(CACHE); })
    .then(function (cache) { return cache.addAll(pageAssets()); })
    .catch(function () {
      /* Offline use is a convenience; the card itself works without it. */
    });
})();
