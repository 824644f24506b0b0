// The portal's own script: kept tiny. htmx is configured through <meta name="htmx-config">.
document.addEventListener("htmx:afterSwap", function (e) {
  // After a form comes back with errors, put the keyboard on the first problem.
  var bad = e.detail.target.querySelector("[aria-invalid=true], .flash.error");
  if (bad) { if (!bad.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(bad.tagName)) bad.setAttribute("tabindex", "-1"); bad.focus(); }
});
