// Standard replies (常用语): the picker beside a text box. The button loads the list with htmx
// (/replies/pick, into .reply-pop); here: type to filter, ↑/↓ to choose, Enter or a click inserts the
// chosen text at the text box's cursor, Escape closes. The text is inserted as plain text (setRangeText),
// never as markup.
(function () {
  "use strict";

  function popOf(elt) { return elt && elt.closest ? elt.closest(".reply-pop") : null; }
  function buttonOf(pop) { return pop.parentNode.querySelector(".reply-open"); }
  function options(pop) {
    return Array.prototype.filter.call(pop.querySelectorAll("[role=option]"), function (o) { return !o.hidden; });
  }
  function active(pop) { return pop.querySelector("[role=option][aria-selected=true]"); }

  function choose(pop, option) {
    var input = pop.querySelector(".reply-filter");
    Array.prototype.forEach.call(pop.querySelectorAll("[role=option][aria-selected=true]"), function (o) {
      o.setAttribute("aria-selected", "false");
    });
    if (!option) { if (input) input.removeAttribute("aria-activedescendant"); return; }
    option.setAttribute("aria-selected", "true");
    if (input) input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({block: "nearest"});
  }

  function close(pop, focusButton) {
    pop.replaceChildren();
    var button = buttonOf(pop);
    if (button) {
      button.setAttribute("aria-expanded", "false");
      if (focusButton) button.focus();
    }
  }

  function insert(pop, option) {
    var box = document.getElementById(pop.getAttribute("data-field"));
    var text = option.getAttribute("data-text") || "";
    close(pop, !box);
    if (!box) return;
    var start = box.selectionStart, end = box.selectionEnd;
    if (typeof start !== "number") { start = end = box.value.length; }
    box.focus();
    box.setRangeText(text, start, end, "end");
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }

  function filter(pop, query) {
    query = query.trim().toLowerCase();
    Array.prototype.forEach.call(pop.querySelectorAll("[role=option]"), function (o) {
      o.hidden = query !== "" && o.textContent.toLowerCase().indexOf(query) < 0;
    });
    choose(pop, options(pop)[0]);
  }

  // A second press on the button closes the open list instead of loading it again.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var button = e.detail.elt;
    if (!button.classList || !button.classList.contains("reply-open")) return;
    var pop = document.getElementById(button.getAttribute("aria-controls"));
    if (pop && pop.firstElementChild) { e.preventDefault(); close(pop, true); }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    var pop = e.detail.target;
    if (!pop.classList || !pop.classList.contains("reply-pop")) return;
    var button = buttonOf(pop);
    if (button) button.setAttribute("aria-expanded", "true");
    choose(pop, options(pop)[0]);
    var input = pop.querySelector(".reply-filter");
    if (input) input.focus();
  });

  document.addEventListener("input", function (e) {
    if (e.target.classList && e.target.classList.contains("reply-filter")) filter(popOf(e.target), e.target.value);
  });

  document.addEventListener("keydown", function (e) {
    var pop = popOf(e.target);
    if (!pop || e.isComposing) return;
    var list = options(pop), current = active(pop), i = list.indexOf(current);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!list.length) return;
      i = e.key === "ArrowDown" ? Math.min(i + 1, list.length - 1) : Math.max(i - 1, 0);
      choose(pop, list[i]);
    } else if (e.key === "Enter" && !(e.ctrlKey || e.metaKey)) {
      e.preventDefault();  // never the form's submit
      if (current) insert(pop, current);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      close(pop, true);
    }
  });

  // The list closes when the focus leaves it (Tab away, a click elsewhere); a press on an option keeps the
  // focus in the filter, so the click that follows still inserts.
  document.addEventListener("mousedown", function (e) {
    if (e.target.closest && e.target.closest(".reply-pop [role=option]")) e.preventDefault();
  });
  document.addEventListener("focusout", function (e) {
    var pop = popOf(e.target);
    if (!pop || !pop.firstElementChild) return;
    var to = e.relatedTarget;
    if (to && (pop.contains(to) || to === buttonOf(pop))) return;
    close(pop, false);
  });

  document.addEventListener("click", function (e) {
    var option = e.target.closest && e.target.closest(".reply-pop [role=option]");
    if (option) { e.preventDefault(); insert(popOf(option), option); }
  });
})();
