// crm web app: the little script the pages need. No framework, no inline code
// (the Content-Security-Policy forbids it). Everything works without it except
// dragging cards on the board.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Selects marked data-autosubmit submit their form when changed.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    // A change that needs a second thought (a member's role) asks first; no
    // leaves the select as it was.
    const question = el.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      for (const option of el.options) option.selected = option.defaultSelected;
      return;
    }
    el.form.submit();
  }
});
document.documentElement.classList.add("js");

// A list's "select every row" box checks the rows' boxes of the bulk form;
// a bulk delete asks first.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLInputElement && el.hasAttribute("data-select-all")) {
    const table = el.closest("table");
    if (!table) return;
    for (const box of table.querySelectorAll('input[name="ids"]')) box.checked = el.checked;
  }
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-bulk")) return;
  if (form.elements.action.value === "delete" && !window.confirm("Delete the selected records? This cannot be undone.")) {
    event.preventDefault();
  }
});

// The browser's time zone, for the pages of a user who has not chosen one
// (times shown and due dates read in it).
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const cookie = `tz=${encodeURIComponent(zone)}`;
  if (zone && !document.cookie.split("; ").includes(cookie)) {
    document.cookie = `${cookie}; path=/; max-age=31536000; samesite=lax`;
  }
} catch (_) { /* no Intl: UTC */ }

// The phone-width header: the menu button shows and hides the navigation.
{
  const toggle = document.getElementById("menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = toggle.closest(".top").classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
}


// A pipeline select names its stage select (data-stages): the stage select
// offers only the chosen pipeline's stages (its other groups are disabled and
// hidden) and falls back to that pipeline's first stage.
function followPipeline(select) {
  const stages = document.getElementById(select.dataset.stages);
  if (!stages) return;
  let keep = null;
  for (const group of stages.querySelectorAll("optgroup")) {
    const mine = group.dataset.pipeline === select.value;
    group.disabled = !mine;
    group.hidden = !mine;
    if (mine) keep = group;
  }
  const chosen = stages.selectedOptions[0];
  if (keep && (!chosen || chosen.parentElement !== keep) && keep.querySelector("option")) {
    keep.querySelector("option").selected = true;
  }
}
document.querySelectorAll("select[data-stages]").forEach((select) => {
  followPipeline(select);
  select.addEventListener("change", () => followPipeline(select));
});

// The page at `address` as the server renders it now, parsed; null when it
// does not answer 2xx (the caller keeps what it shows).
async function fetchPage(address) {
  const response = await fetch(address, { credentials: "same-origin" });
  if (!response.ok) return null;
  return new DOMParser().parseFromString(await response.text(), "text/html");
}

// Searchable pickers: a select marked data-picker="/contacts/choices" becomes
// a combobox (ARIA 1.2: a text box with a list box) that searches every record
// as you type. The select stays in the form, hidden, and carries the value;
// without the script it is shown and offers the chosen record and the first
// ones A–Z. data-fills="company_id" on a contact picker fills that company
// picker with the chosen contact's company when it is empty.
function picker(select) {
  const source = select.dataset.picker;
  const field = select.closest(".field") || select.parentElement;
  const label = field.querySelector(`label[for="${select.id}"]`);
  const input = document.createElement("input");
  const list = document.createElement("ul");
  input.type = "text";
  input.id = `${select.id}-search`;
  input.autocomplete = "off";
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", `${select.id}-list`);
  for (const name of ["aria-invalid", "aria-describedby"]) {
    if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
  }
  const chosen = select.selectedOptions[0];
  input.value = chosen && chosen.value ? chosen.textContent : "";
  input.placeholder = "Type to search";
  list.id = `${select.id}-list`;
  list.className = "picker-list";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  if (label) {
    label.htmlFor = input.id;
    list.setAttribute("aria-label", label.textContent);
  }
  select.hidden = true;
  select.tabIndex = -1;
  select.after(input, list);
  field.classList.add("picker");

  let choices = [];
  let active = -1;
  let timer = null;
  let ticket = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    list.querySelectorAll("[role=option]").forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    const li = list.children[index];
    if (li) {
      input.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    }
  }

  // The select keeps exactly the chosen record, so the form posts it.
  function setValue(id, name) {
    let option = [...select.options].find((o) => o.value === id);
    if (!option) {
      option = new Option(name, id);
      select.add(option);
    }
    option.selected = true;
    input.value = id ? name : "";
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function choose(index) {
    const choice = choices[index];
    if (!choice) return;
    setValue(choice.id, choice.name);
    close();
    const fills = select.dataset.fills && document.getElementById(select.dataset.fills);
    if (fills && !fills.value && choice.company_id && fills.picker) {
      fills.picker.setValue(choice.company_id, choice.company);
    }
  }

  function render() {
    list.replaceChildren();
    choices.forEach((choice, i) => {
      const li = document.createElement("li");
      li.id = `${select.id}-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const name = document.createElement("span");
      name.textContent = choice.name;
      li.append(name);
      if (choice.detail) {
        const detail = document.createElement("span");
        detail.className = "muted";
        detail.textContent = choice.detail;
        li.append(detail);
      }
      // mousedown, not click: it comes before the input's blur closes the list.
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(i);
      });
      list.append(li);
    });
    if (choices.length === 0) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No match";
      list.append(li);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  }

  async function search() {
    const mine = ++ticket;
    try {
      const response = await fetch(`${source}?q=${encodeURIComponent(input.value.trim())}`, { credentials: "same-origin" });
      if (!response.ok || mine !== ticket) return;
      choices = await response.json();
      if (mine === ticket && document.activeElement === input) render();
    } catch (_) { /* offline: the list stays as it was */ }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    // Emptied: no record chosen (an optional picker's "None").
    if (!input.value.trim() && select.querySelector('option[value=""]')) setValue("", "");
    timer = setTimeout(search, 200);
  });
  input.addEventListener("focus", () => { if (list.hidden) search(); });
  input.addEventListener("blur", () => {
    close();
    // Text that chose nothing goes back to the chosen record's name.
    const current = select.selectedOptions[0];
    input.value = current && current.value ? current.textContent : "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) search();
      else highlight(Math.min(active + 1, choices.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && !list.hidden) {
      // Enter picks the highlighted choice instead of sending the form.
      event.preventDefault();
      choose(active >= 0 ? active : 0);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  select.picker = { setValue };
}
document.querySelectorAll("select[data-picker]").forEach(picker);

// Search as you type: after a pause, the list's filter form is sent in the
// background and the page's result regions (data-live-region, by id) are
// replaced by the answer's, so the search box keeps its focus and every
// keystroke; the address follows, so a reload or a shared link shows the
// same list. Enter still submits the form the plain way.
document.querySelectorAll("input[data-live-search]").forEach((input) => {
  const form = input.form;
  if (!form) return;
  let timer = null;
  let latest = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ticket = ++latest;
      const address = `${form.action}?${new URLSearchParams(new FormData(form))}`;
      try {
        const fresh = await fetchPage(address);
        if (!fresh || ticket !== latest) return;
        for (const region of document.querySelectorAll("[data-live-region]")) {
          const theirs = fresh.getElementById(region.id);
          if (theirs) region.replaceWith(document.importNode(theirs, true));
        }
        history.replaceState(null, "", address);
      } catch (_) { /* offline: the list stays; Enter still submits */ }
    }, 250);
  });
});

// The pipeline board: drag a card (pointer events: mouse, pen and touch) onto
// another column. The server decides; a refused move snaps back with its reason.
(function board() {
  const boardEl = document.getElementById("board");
  if (!boardEl) return;
  const message = document.getElementById("board-message");
  let drag = null;

  function show(text) {
    if (!message) return;
    message.textContent = text;
    message.hidden = !text;
  }

  function columnAt(x, y) {
    const el = document.elementFromPoint(x, y);
    return el ? el.closest(".column") : null;
  }

  function cleanup() {
    if (!drag) return;
    drag.card.classList.remove("dragging");
    drag.card.style.transform = "";
    boardEl.querySelectorAll(".column.over").forEach((c) => c.classList.remove("over"));
    drag = null;
  }

  function updateCount(column, delta) {
    const count = column.querySelector(".col-count");
    if (count) count.textContent = String(Number(count.textContent || "0") + delta);
  }

  boardEl.addEventListener("pointerdown", (event) => {
    const card = event.target.closest(".deal-card[data-draggable]");
    if (!card || event.button !== 0 || event.target.closest("a, button, form, details")) return;
    drag = { card, from: card.closest(".column"), x: event.clientX, y: event.clientY, moved: false };
    card.setPointerCapture(event.pointerId);
  });

  boardEl.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 6) return;
    drag.moved = true;
    drag.card.classList.add("dragging");
    drag.card.style.transform = `translate(${dx}px, ${dy}px)`;
    const over = columnAt(event.clientX, event.clientY);
    boardEl.querySelectorAll(".column").forEach((c) => c.classList.toggle("over", c === over));
  });

  // The columns' counts and totals after a move, read from the board as the
  // server now renders it (the figures cover every deal, not only the shown
  // cards), without reloading the page.
  async function refreshFigures() {
    try {
      const fresh = await fetchPage(window.location.href);
      if (!fresh) return;
      for (const column of boardEl.querySelectorAll(".column")) {
        const mine = column.querySelector(".col-figures");
        const theirs = fresh.getElementById(column.getAttribute("aria-labelledby"));
        const figures = theirs && theirs.closest(".column").querySelector(".col-figures");
        if (mine && figures) mine.replaceWith(document.importNode(figures, true));
      }
    } catch (_) { /* the figures stay as they were until the next load */ }
  }

  // A card dropped on Won or Lost opens its own Won or Lost dialog (the
  // confirmation, the reason): closing a deal is never one gesture.
  function askToClose(card, status) {
    const form = card.querySelector(`form input[name="status"][value="${status}"]`);
    const dialog = form && form.closest("details");
    if (!dialog) {
      show(status === "won" ? "A new deal is started before it is won." : "This deal cannot be closed here.");
      return;
    }
    dialog.open = true;
    card.scrollIntoView({ block: "nearest" });
    const first = dialog.querySelector("select, input:not([type=hidden]), button[type=submit]");
    if (first) first.focus();
  }

  boardEl.addEventListener("pointerup", async (event) => {
    if (!drag) return;
    const { card, from, moved } = drag;
    drag.card.style.visibility = "hidden";
    const target = moved ? columnAt(event.clientX, event.clientY) : null;
    drag.card.style.visibility = "";
    cleanup();
    if (!target || target === from) return;
    if (target.dataset.closes) {
      show("");
      askToClose(card, target.dataset.closes);
      return;
    }
    // Optimistic: move the card, then ask the server.
    target.querySelector(".cards-list").prepend(card);
    updateCount(target, 1);
    updateCount(from, -1);
    show("");
    card.setAttribute("aria-busy", "true");
    try {
      const body = new URLSearchParams({ stage: target.dataset.stage });
      const response = await fetch(`/deals/${card.dataset.deal}/stage`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body,
        credentials: "same-origin",
      });
      if (!response.ok) {
        let reason = "The move was refused.";
        try {
          reason = (await response.json()).message || reason;
        } catch (_) { /* not JSON: keep the generic reason */ }
        throw new Error(reason);
      }
      const age = card.querySelector(".card-age");
      if (age) age.textContent = "In stage today";
      card.closest(".column").classList.add("moved");
      await refreshFigures();
    } catch (error) {
      from.querySelector(".cards-list").prepend(card);
      updateCount(target, -1);
      updateCount(from, 1);
      show(error.message);
    } finally {
      card.removeAttribute("aria-busy");
    }
  });

  boardEl.addEventListener("pointercancel", cleanup);
})();

// "Copy link" buttons: copy the value of the input they name.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  } catch (_) {
    // No clipboard permission: the text stays selected for the user to copy.
  }
});

// A form shown again with errors: the first field in error takes the focus
// (its message is tied to it by aria-describedby, so it is read out). Last,
// once the pickers have replaced their selects.
{
  const invalid = document.querySelector('[aria-invalid="true"]:not([hidden])');
  if (invalid) invalid.focus();
}
