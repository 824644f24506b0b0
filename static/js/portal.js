// The portal's own script: kept tiny. htmx is configured through <meta name="htmx-config">.
document.addEventListener("htmx:afterSwap", function (e) {
  // After a form comes back with errors, put the keyboard on the first problem.
  var bad = e.detail.target.querySelector("[aria-invalid=true], .flash.error");
  if (bad) { if (!bad.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(bad.tagName)) bad.setAttribute("tabindex", "-1"); bad.focus(); }
});

// Intake: picking one of the unit's saved contacts fills reporter, department and phone (the summary stays
// to type). A contact the server already picked (the number typed in the unit search) fills only empty fields.
function fillFromContact(radio, overwrite) {
  var form = radio.form;
  if (!form) return;
  [["reporter_name", "name"], ["reporter_dept", "dept"], ["reporter_phone", "phone"]].forEach(function (pair) {
    var input = form.elements[pair[0]], value = radio.getAttribute("data-" + pair[1]);
    if (input && value && (overwrite || !input.value.trim())) input.value = value;
  });
}
document.addEventListener("change", function (e) {
  if (e.target.matches("#caller-contacts input[name=contact_id][data-name]")) fillFromContact(e.target, true);
});
document.addEventListener("htmx:afterSettle", function () {
  var picked = document.querySelector("#caller-contacts input[name=contact_id][data-name]:checked");
  if (picked && !picked.hasAttribute("data-filled")) { picked.setAttribute("data-filled", ""); fillFromContact(picked, false); }
});
