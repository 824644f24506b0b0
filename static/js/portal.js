// The portal's own script: kept small. htmx is configured through <meta name="htmx-config">; this file adds
// only what markup cannot say: where the keyboard goes after an answer, and how an error answer is shown.
(function () {
  "use strict";

  var SAVED = "portal:typed";          // sessionStorage: what the clerk typed, kept across one reload
  var SAVED_FOR_MS = 30 * 60 * 1000;   // long enough to sign in again, short enough not to surprise later
  var ERROR_HEADER = "X-Portal-Error"; // set by portal/core/security.py on its error answers

  function text(key) {
    var m = document.getElementById("portal-messages");
    return (m && m.getAttribute("data-" + key)) || "";
  }

  // --- showing a message where the clerk clicked ------------------------------------------------

  // The form that was sent, else the element that asked (a button, a select).
  function anchorOf(elt) {
    if (!elt || !elt.isConnected) return document.getElementById("main");
    return elt.closest("form") || elt;
  }

  function dismiss(box) {
    var back = box._returnFocus;
    box.remove();
    if (back && back.isConnected) back.focus();
  }

  // An alert next to `anchor`: announced at once (role=alert), given the keyboard focus, and closed with
  // its button or Escape, which puts the focus back where it was.
  function showMessage(anchor, message, extra) {
    var next = anchor.nextElementSibling;
    var old = anchor.querySelector(":scope > .htmx-error") || (next && next.matches(".htmx-error") ? next : null);
    if (old) old.remove();
    var box = document.createElement("div");
    box.className = "flash error htmx-error";
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    var p = document.createElement("span");
    p.className = "htmx-error-text";
    p.textContent = message;
    box.appendChild(p);
    if (extra) {
      var pre = document.createElement("div");
      pre.className = "prewrap htmx-error-kept";
      pre.textContent = extra;
      box.appendChild(pre);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "htmx-error-close";
    close.textContent = text("dismiss");
    close.addEventListener("click", function () { dismiss(box); });
    box.appendChild(close);
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); dismiss(box); }
    });
    var active = document.activeElement;
    box._returnFocus = active && active !== document.body && anchor.contains(active) ? active : null;
    if (anchor.tagName === "FORM" || anchor.id === "main") {
      anchor.insertBefore(box, anchor.firstChild);
    } else {
      anchor.insertAdjacentElement("afterend", box);
    }
    var details = box.closest("details");
    if (details) details.open = true;
    box.focus();
    return box;
  }

  // The message of one of our error fragments, or a plain one for an answer that is not ours (a proxy's
  // 502 page, an empty body).
  function messageOf(xhr) {
    if (xhr.getResponseHeader(ERROR_HEADER) && xhr.responseText) {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var node = doc.querySelector("[role=alert]");
      if (node && node.textContent.trim()) return node.textContent.trim();
    }
    return text("failed").replace("{status}", String(xhr.status));
  }

  // The element whose request this was (beforeSwap is fired on the target, so detail.elt is the target).
  function requester(detail) {
    return (detail.requestConfig && detail.requestConfig.elt) || detail.elt;
  }

  // A click, a key press, a submit: something the clerk did. Polling and load triggers are not shown.
  function byTheClerk(detail) {
    var cfg = detail.requestConfig || {};
    var ev = cfg.triggeringEvent;
    return (cfg.verb && cfg.verb !== "get") || !!(ev && ev.isTrusted);
  }

  // --- keeping what was typed across a reload ----------------------------------------------------

  function keyOf(el) {
    var names = ["hx-post", "hx-put", "hx-patch", "hx-delete", "hx-get", "action"];
    for (var i = 0; i < names.length; i++) {
      if (el.getAttribute(names[i])) return names[i] + " " + el.getAttribute(names[i]);
    }
    return null;
  }

  function typedIn(form) {
    var fields = [], files = false;
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.disabled || /csrf_token$|-version$/.test(f.name)) return;
      if (f.type === "file") { files = files || (f.files && f.files.length > 0); return; }
      if (/^(hidden|password|submit|button|reset|image)$/.test(f.type)) return;
      if ((f.type === "checkbox" || f.type === "radio") && !f.checked) return;
      if (f.tagName === "SELECT") {
        Array.prototype.forEach.call(f.selectedOptions, function (o) { fields.push([f.name, o.value]); });
        return;
      }
      fields.push([f.name, f.value]);
    });
    return {fields: fields, files: files};
  }

  // Every form that sends something (not search filters), keyed by where it posts: after the reload the
  // same forms are found by the same key, whatever else moved on the page.
  function saveTyped(elt, reason) {
    var forms = [];
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      var key = keyOf(form);
      if (!key || (form.method || "get").toLowerCase() !== "post") return;
      var typed = typedIn(form);
      if (typed.fields.some(function (kv) { return kv[1].trim(); }) || typed.files) {
        forms.push({key: key, fields: typed.fields, files: typed.files});
      }
    });
    var anchor = elt && elt.isConnected ? anchorOf(elt) : null;
    sessionStorage.setItem(SAVED, JSON.stringify({
      path: location.pathname + location.search, at: Date.now(), reason: reason,
      anchor: anchor ? keyOf(anchor) : null, forms: forms
    }));
  }

  function putBack(form, fields) {
    var byName = {};
    fields.forEach(function (kv) { (byName[kv[0]] = byName[kv[0]] || []).push(kv[1]); });
    Object.keys(byName).forEach(function (name) {
      var values = byName[name];
      var els = form.querySelectorAll("[name='" + CSS.escape(name) + "']");
      Array.prototype.forEach.call(els, function (f, i) {
        if (f.type === "checkbox" || f.type === "radio") {
          f.checked = values.indexOf(f.value) >= 0;
        } else if (f.tagName === "SELECT") {
          Array.prototype.forEach.call(f.options, function (o) { o.selected = values.indexOf(o.value) >= 0; });
        } else if (i < values.length) {
          f.value = values[i];
        }
      });
    });
  }

  function restoreTyped() {
    var raw = sessionStorage.getItem(SAVED);
    if (!raw) return;
    var saved;
    try { saved = JSON.parse(raw); } catch (e) { sessionStorage.removeItem(SAVED); return; }
    if (!saved || Date.now() - saved.at > SAVED_FOR_MS) { sessionStorage.removeItem(SAVED); return; }
    if (saved.path !== location.pathname + location.search) return; // (the sign-in page on the way back)
    sessionStorage.removeItem(SAVED);
    var first = null, lost = [], files = false;
    saved.forms.forEach(function (entry) {
      var form = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
        return keyOf(f) === entry.key;
      });
      files = files || entry.files;
      if (!form) {
        entry.fields.forEach(function (kv) { if (kv[1].trim()) lost.push(kv[1]); });
        return;
      }
      putBack(form, entry.fields);
      if (!first) first = form;
    });
    var where = null;
    if (saved.anchor) {
      var askers = document.querySelectorAll("form, [hx-post], [hx-put], [hx-patch], [hx-delete], [hx-get]");
      where = Array.prototype.find.call(askers, function (el) { return keyOf(el) === saved.anchor; });
    }
    where = where || first || document.getElementById("main");
    var message = text(saved.reason === "signin" ? "signin-restored" : "expired-restored");
    if (files) message += " " + text("files-again");
    if (lost.length) message += " " + text("not-restored");
    showMessage(where, message, lost.length ? lost.join("\n\n") : null);
  }

  // --- htmx hooks ---------------------------------------------------------------------------------

  document.addEventListener("htmx:beforeOnLoad", function (e) {
    // Signed out meanwhile: the answer sends the browser to the sign-in page (HX-Redirect), which leads
    // back here; keep what was typed for that return.
    if (e.detail.xhr.status === 401) saveTyped(requester(e.detail), "signin");
  });

  document.addEventListener("htmx:beforeSwap", function (e) {
    var d = e.detail, xhr = d.xhr;
    if (xhr.status < 400) return;
    var kind = xhr.getResponseHeader(ERROR_HEADER);
    if (!kind && xhr.status < 500 && d.shouldSwap) return; // a route's own 409/422 form fragment: swap it
    d.shouldSwap = false;
    d.isError = false; // handled here: no console error from htmx
    if (!byTheClerk(d)) return;
    if (kind === "expired-form") {
      // The page's CSRF token is no longer valid (the clerk signed in again in another tab, the server
      // was reconfigured). A new page brings a new token. Sending the form again by itself could act on
      // a ticket that changed meanwhile, so the page is reloaded, what was typed is put back, and the
      // clerk sends it again on what they now see. Twice within a minute means reloading does not help
      // (cookies blocked?): then the message is shown instead.
      var last = Number(sessionStorage.getItem(SAVED + ":reloaded") || 0);
      if (Date.now() - last > 60 * 1000) {
        sessionStorage.setItem(SAVED + ":reloaded", String(Date.now()));
        saveTyped(requester(d), "expired");
        location.reload();
        return;
      }
    }
    showMessage(anchorOf(requester(d)), messageOf(xhr));
  });

  document.addEventListener("htmx:sendError", function (e) {
    // No answer at all (network down, server stopped): the request was not sent or not answered.
    if (byTheClerk(e.detail)) showMessage(anchorOf(requester(e.detail)), text("offline"));
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    // After a form comes back with errors, put the keyboard on the first problem.
    // An outerHTML swap leaves detail.target as the element it replaced: look at its successor.
    var root = e.detail.target;
    if (!root.isConnected && root.id) root = document.getElementById(root.id) || root;
    var bad = root.querySelector("[aria-invalid=true], .flash.error");
    if (bad) { if (!bad.hasAttribute("tabindex") && !/INPUT|SELECT|TEXTAREA/.test(bad.tagName)) bad.setAttribute("tabindex", "-1"); bad.focus(); }
  });

  // A list's "tick all" box (data-check-all = the id of the form its rows' boxes belong to).
  document.addEventListener("change", function (e) {
    var all = e.target.closest && e.target.closest("input[data-check-all]");
    if (!all) return;
    var boxes = document.querySelectorAll("input[type=checkbox][form='" + all.getAttribute("data-check-all") + "']");
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restoreTyped);
  } else {
    restoreTyped();
  }
})();

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

/* --- Intake: the caller picked from the unit's contacts ------------------------------------------------ */
(function () {
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
})();

// --- keyboard shortcuts (listed on the "?" overlay, templates/_shortcuts.html) -----------------------
// Single keys never fire while the focus is in a field (or an input method is composing), nor while a
// dialog is open; Ctrl+Enter is meant for fields: it sends the form being typed in.
(function () {
  "use strict";

  var PREFIX_MS = 1500;              // "g" then "n": the second key within this time
  var NUMBER = /^[A-Za-z]{2}-\d{4}-\d{6}$/;  // a full ticket number opens the ticket; anything else is searched
  var pendingG = 0;

  function typing(el) {
    return !!el && (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) || el.isContentEditable);
  }

  function dialogOpen() {
    return !!document.querySelector("dialog[open]");
  }

  function open(id) {
    var d = document.getElementById(id);
    if (d && !d.open) d.showModal();
    return d;
  }

  // Rows of the lists and queues on the page (those with a link to open), in page order.
  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("main table tbody tr"), function (tr) {
      return tr.querySelector("a[href]");
    });
  }

  function moveRow(step) {
    var all = rows();
    if (!all.length) return false;
    var at = all.findIndex(function (tr) { return tr.classList.contains("kb-current"); });
    var next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
    if (at >= 0) all[at].classList.remove("kb-current");
    all[next].classList.add("kb-current");
    var link = all[next].querySelector("a[href]");
    link.focus();  // Enter then opens it, as on any link
    all[next].scrollIntoView({block: "nearest"});
    return true;
  }

  function focusSearch() {
    var box = document.querySelector("main input[type=search]");
    if (box) { box.focus(); box.select(); return true; }
    var help = document.getElementById("shortcuts");
    if (!help) return false;
    location.href = help.getAttribute("data-search-url") + "#search";
    return true;
  }

  function openFirstAction() {
    var details = document.querySelector("#ticket details.action");
    if (!details) return false;
    details.open = true;
    var field = details.querySelector("textarea, select, input:not([type=hidden])");
    (field || details.querySelector("summary")).focus();
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.isComposing) return;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      var form = e.target.closest && e.target.closest("form");
      if (form) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || dialogOpen()) return;
    var afterG = Date.now() - pendingG < PREFIX_MS;
    pendingG = 0;
    var done = false;
    if (afterG && e.key === "n") {
      var jump = open("jump");
      if (jump) { jump.querySelector("input").value = ""; done = true; }
    } else if (e.key === "g") {
      pendingG = Date.now();
      done = true;
    } else if (e.key === "?") {
      done = !!open("shortcuts");
    } else if (e.key === "/") {
      done = focusSearch();
    } else if (e.key === "j") {
      done = moveRow(1);
    } else if (e.key === "k") {
      done = moveRow(-1);
    } else if (e.key === "a") {
      done = openFirstAction();
    }
    if (done) e.preventDefault();
  });

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches("#jump form")) return;
    var number = form.elements.q.value.trim();
    if (NUMBER.test(number)) {
      e.preventDefault();
      location.href = form.action.replace(/\/?$/, "/") + encodeURIComponent(number.toUpperCase());
    }
  });

  function focusSearchOnArrival() {
    if (location.hash !== "#search") return;
    var box = document.querySelector("main input[type=search]");
    if (box) box.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSearchOnArrival);
  } else {
    focusSearchOnArrival();
  }
})();

// 知识库 (issue 16): "Use" beside a suggested article in a consultation's answer form puts the article's number
// into the form and its solution into the answer — unless the answerer has typed an answer of their own.
document.addEventListener("click", function (e) {
  var button = e.target.closest ? e.target.closest("button[data-kb-number]") : null;
  var form = button ? button.closest("form") : null;
  if (!form) return;
  var number = form.querySelector("input[name$='-article']");
  var answer = form.querySelector("textarea[name$='-answer']");
  if (number && number.value !== button.getAttribute("data-kb-number")) {
    number.value = button.getAttribute("data-kb-number");
    number.dispatchEvent(new Event("input", { bubbles: true }));  // the form shows which article it names
  }
  var solution = button.getAttribute("data-kb-solution") || "";
  if (answer && solution && (!answer.value.trim() || answer.getAttribute("data-kb-filled") === "1")) {
    answer.value = solution;
    answer.setAttribute("data-kb-filled", "1");
  }
  if (answer) answer.focus();
});
