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
