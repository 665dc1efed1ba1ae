// golive dashboard: progressive enhancement only. Without this script every page still works (forms submit by GET).
// With it: the custom range inputs show only when "Custom range" is picked, a range change applies at once, and
// pages marked data-live-refresh reload their content in place while "Live refresh" is ticked.
(function () {
  "use strict";
  var form = document.querySelector("form.range");
  if (form) {
    var since = form.querySelector("#since");
    var custom = form.querySelector("[data-custom]");
    var sync = function () { custom.hidden = since.value !== "custom"; };
    sync();
    since.addEventListener("change", function () {
      sync();
      if (since.value !== "custom") {
        form.querySelector("#start").value = "";
        form.querySelector("#end").value = "";
        form.submit();
      }
    });
    form.addEventListener("submit", function () {
      // a named range wins over stale custom times; a custom range sends no `since`
      if (since.value === "custom") { since.disabled = true; } else {
        form.querySelector("#start").disabled = true;
        form.querySelector("#end").disabled = true;
      }
    });
  }
  var seconds = parseInt(document.body.getAttribute("data-live-refresh") || "0", 10);
  var toggle = document.querySelector("[data-live]");
  if (seconds > 0 && toggle) {
    toggle.hidden = false;
    var box = toggle.querySelector("input");
    var stored = window.sessionStorage && sessionStorage.getItem("golive-live");
    if (stored !== null) { box.checked = stored === "1"; }
    box.addEventListener("change", function () {
      if (window.sessionStorage) { sessionStorage.setItem("golive-live", box.checked ? "1" : "0"); }
    });
    window.setInterval(function () {
      if (!box.checked || document.hidden) { return; }
      fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (text) {
          if (!text) { return; }
          var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live-region");
          var here = document.getElementById("live-region");
          if (fresh && here && !here.contains(document.activeElement)) { here.innerHTML = fresh.innerHTML; }
        })
        .catch(function () { /* dev stopped: keep what is shown */ });
    }, seconds * 1000);
  }
}());
