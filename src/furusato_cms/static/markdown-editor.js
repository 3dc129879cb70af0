/* The formatting toolbar and live preview of Markdown textareas
   (templates/deform/markdown_textarea.pt). Without this script the textarea works on
   its own; the stored text is Markdown either way. The preview is rendered by the
   server (views/markdown_preview.py) with the public pages' own renderer. */
(function () {
  "use strict";

  function lineStart(text, index) {
    return text.lastIndexOf("\n", index - 1) + 1;
  }

  function lineEnd(text, index) {
    var end = text.indexOf("\n", index);
    return end === -1 ? text.length : end;
  }

  /* Put ``prefix(n)`` before every line of the selection (n counts from 1), replacing
     a heading or list mark that is already there. */
  function prefixLines(area, prefix) {
    var text = area.value;
    var start = lineStart(text, area.selectionStart);
    var end = lineEnd(text, Math.max(area.selectionStart, area.selectionEnd - 1));
    var lines = text.slice(start, end).split("\n").map(function (line, i) {
      return prefix(i + 1) + line.replace(/^(#{1,6} |[-*] |\d+\. )/, "");
    });
    area.setRangeText(lines.join("\n"), start, end, "end");
  }

  /* Insert ``before + (selection or sample) + after`` and select ``pick`` of it. */
  function wrap(area, before, sample, after, pick) {
    var start = area.selectionStart;
    var chosen = area.value.slice(start, area.selectionEnd) || sample;
    var inserted = before + chosen + after;
    area.setRangeText(inserted, start, area.selectionEnd, "end");
    if (pick) {
      var at = start + inserted.lastIndexOf(pick);
      area.setSelectionRange(at, at + pick.length);
    }
  }

  function block(area, text) {
    var start = area.selectionStart;
    var value = area.value;
    var before = start > 0 && value.charAt(start - 1) !== "\n" ? "\n\n" : (start > 0 ? "\n" : "");
    area.setRangeText(before + text + "\n", start, area.selectionEnd, "end");
  }

  function table(sample) {
    var cells = sample.split("|");
    return "| " + cells[0] + " | " + cells[1] + " |\n| --- | --- |\n| " +
      cells[2] + " | " + cells[3] + " |";
  }

  var FORMATS = {
    h2: function (area) { prefixLines(area, function () { return "## "; }); },
    h3: function (area) { prefixLines(area, function () { return "### "; }); },
    ul: function (area) { prefixLines(area, function () { return "- "; }); },
    ol: function (area) { prefixLines(area, function (n) { return n + ". "; }); },
    bold: function (area, box) { wrap(area, "**", box.dataset.sampleBold || "", "**"); },
    link: function (area, box) {
      wrap(area, "[", box.dataset.sampleLink, "](https://)", "https://");
    },
    image: function (area, box) {
      wrap(area, "![", box.dataset.sampleImage, "](" + box.dataset.imagesUrl + ")",
           box.dataset.imagesUrl);
    },
    table: function (area, box) { block(area, table(box.dataset.sampleTable)); }
  };

  function setUp(box) {
    if (box.dataset.ready) { return; }
    box.dataset.ready = "1";
    var area = box.querySelector("textarea");
    var toolbar = box.querySelector(".markdown-toolbar");
    var preview = box.querySelector(".markdown-preview");
    var output = box.querySelector(".markdown-preview-body");
    var form = box.closest("form");
    var token = form && form.querySelector("input[name=csrf_token]");
    var timer = null;
    var sent = 0;

    function refresh() {
      var number = ++sent;
      var data = new FormData();
      data.append("csrf_token", token ? token.value : "");
      data.append("body", area.value);
      fetch(box.dataset.previewUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"X-CSRF-Token": token ? token.value : ""}
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null && number === sent) { output.innerHTML = html; }
      }).catch(function () { /* the textarea still works; the preview waits */ });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    }

    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-format]");
      if (!button) { return; }
      area.focus();
      FORMATS[button.dataset.format](area, box);
      area.dispatchEvent(new Event("input", {bubbles: true}));
    });
    area.addEventListener("input", later);
    toolbar.hidden = false;
    preview.hidden = false;
    refresh();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".markdown-editor"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
