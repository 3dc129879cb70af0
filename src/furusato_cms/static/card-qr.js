/* The QR codes on the registration card expire a few minutes after the page was made.
   A card shown again later (e.g. from the offline copy) must not keep showing them as
   if valid: once a code's time has passed, its image is hidden and "expired" shown,
   next to the link that fetches a new one. */
(function () {
  "use strict";

  function hideExpired() {
    var now = Date.now();
    document.querySelectorAll(".card-qr[data-expires]").forEach(function (figure) {
      if (now < Date.parse(figure.dataset.expires)) {
        return;
      }
      figure.classList.add("card-qr-expired");
      figure.querySelectorAll("[data-while-valid]").forEach(function (el) { el.hidden = true; });
      figure.querySelectorAll("[data-when-expired]").forEach(function (el) { el.hidden = false; });
    });
  }

  hideExpired();
  window.setInterval(hideExpired, 5000);
  document.addEventListener("visibilitychange", hideExpired);
})();
