// The portal's own script: kept tiny. htmx is configured through <meta name="htmx-config">.
document.addEventListener("htmx:afterSwap", function (e) {
  // After a form comes back with errors, put the keyboard on the first problem.
  var bad = e.detail.target.querySelector("[aria-invalid=true], .flash.error");
  if (bad) { if (!bad.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(bad.tagName)) bad.setAttribute("tabindex", "-1"); bad.focus(); }
});

/* --- Menu button (narrow screens) ----------------------------------------------------------------
   base.html: <button class="nav-toggle" aria-expanded aria-controls="site-menu">. Below the CSS breakpoint
   the menu is shown only while aria-expanded is "true"; at desktop widths the button is hidden and the
   menu always shown, so this state does not matter there. Enter/Space come with <button>; Escape closes
   the open menu and gives the focus back to the button. */
(function () {
  function setOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest(".nav-toggle");
    if (button) setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var button = document.querySelector(".nav-toggle[aria-expanded=true]");
    if (!button || button.offsetParent === null) return;  // none open, or the desktop layout (button hidden)
    setOpen(button, false);
    button.focus();
  });
})();
