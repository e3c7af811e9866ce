/* The app's only script (no inline script anywhere: the Content Security Policy allows scripts from here only).
   Behaviour is declared in the markup with data- attributes and wired here by delegation, so it also works on
   what htmx swaps in later. */
(function () {
  "use strict";

  /* <form data-confirm="Delete …?">: ask before sending. */
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  /* <input data-select-on-click>: a token or snippet to copy is selected whole on a click. */
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-on-click]")) target.select();
  });

  /* The top bar's search: "/" focuses it from anywhere but a field being typed in; Escape leaves it and closes
     its results; Enter (the form's submit) opens the leads list filtered by the words. */
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("global-search");
    if (!box) return;
    var target = event.target;
    var typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && box.form.contains(target)) {
      document.getElementById("global-search-results").innerHTML = "";
      box.blur();
    } else if (event.key === "ArrowDown" && target === box) {
      var first = box.form.querySelector(".quick-results a");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  /* Scoring's rule forms show the settings of the chosen kind: the form's data-kind follows its "kind" field. */
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.classList.contains("rule-form") && form.elements.kind) form.dataset.kind = form.elements.kind.value;
  });
})();

/* Live response countdowns: every [data-sla-left] chip counts down from the seconds the server rendered
   (measured from when the chip appeared, so the browser's own clock does not matter). Text as sla_left. */
(function () {
  if (window.crmSlaCountdown) return;
  window.crmSlaCountdown = true;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function fmt(s) {
    s = Math.floor(Math.abs(s));
    var m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (s < 60) return s + " s";
    if (s < 600) return m + " min " + pad(s % 60) + " s";
    if (m < 60) return m + " min";
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return d + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
  }
  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-sla-left]").forEach(function (el) {
      if (el.slaStart === undefined) el.slaStart = now;
      var passed = (now - el.slaStart) / 1000;
      var left = Math.ceil(Number(el.dataset.slaLeft) - passed);
      if (left > 43200) return;
      var remind = el.dataset.slaRemindLeft === undefined ? null : Number(el.dataset.slaRemindLeft) - passed;
      el.textContent = left > 0 ? "answer within " + fmt(left) : "overdue " + fmt(left);
      el.classList.toggle("chip-bad", left <= 0);
      el.classList.toggle("chip-warn", left > 0 && remind !== null && remind <= 0);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
})();
