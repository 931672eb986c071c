// The agreement ledger's site: search, filter and sort a table of the page, with no server.
// The filter and the sort live in the address (#status=in_force&party=JP&sort=key&order=desc),
// so that a view can be bookmarked, sent, or opened again.
(function () {
  "use strict";
  var root = document.documentElement;
  window.addEventListener("error", function () { root.dataset.errors = "yes"; }, true);

  function given() {
    try { return new URLSearchParams(window.location.hash.slice(1)); }
    catch (e) { return new URLSearchParams(); }
  }

  function remember(values) {
    var text = new URLSearchParams(values).toString();
    try { window.history.replaceState(null, "", text ? "#" + text : window.location.pathname); }
    catch (e) { /* an address that cannot change (some file:// settings): the view still works */ }
  }

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    return cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim().toLowerCase();
  }

  function setUp(table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var controls = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
    var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-sort]"));
    var count = document.getElementById("shown");
    var state = given();
    var sort = { key: state.get("sort") || "", order: state.get("order") === "desc" ? "desc" : "asc" };

    controls.forEach(function (control) {
      var wanted = state.get(control.dataset.filter);
      if (wanted === null) { return; }
      if (control.tagName === "SELECT" && wanted &&
          !Array.prototype.some.call(control.options, function (o) { return o.value === wanted; })) {
        control.add(new Option(wanted, wanted));  // a value no row has (yet): it matches nothing
      }
      control.value = wanted;
    });

    function matches(row, name, value) {
      if (name === "q") { return (row.dataset.search || "").indexOf(value.toLowerCase()) !== -1; }
      return (" " + (row.dataset[name] || "") + " ").indexOf(" " + value + " ") !== -1;
    }

    function apply() {
      var values = {};
      controls.forEach(function (control) {
        if (control.value) { values[control.dataset.filter] = control.value.trim(); }
      });
      var shown = 0;
      rows.forEach(function (row) {
        var keep = Object.keys(values).every(function (name) { return matches(row, name, values[name]); });
        row.hidden = !keep;
        if (keep) { shown += 1; }
      });
      if (count) { count.textContent = shown + " of " + rows.length; }
      root.dataset.shown = String(shown);
      if (sort.key) { values.sort = sort.key; values.order = sort.order; }
      remember(values);
    }

    function order() {
      var header = headers.filter(function (h) { return h.dataset.sort === sort.key; })[0];
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      if (!header) { return; }
      var index = header.cellIndex;
      var sign = sort.order === "desc" ? -1 : 1;
      header.setAttribute("aria-sort", sort.order === "desc" ? "descending" : "ascending");
      rows.sort(function (a, b) {
        var x = cellValue(a, index), y = cellValue(b, index);
        var nx = Number(x), ny = Number(y);
        if (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) { return sign * (nx - ny); }
        return sign * (x < y ? -1 : x > y ? 1 : 0);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }

    headers.forEach(function (header) {
      header.tabIndex = 0;
      function choose() {
        sort.order = sort.key === header.dataset.sort && sort.order === "asc" ? "desc" : "asc";
        sort.key = header.dataset.sort;
        order();
        apply();
      }
      header.addEventListener("click", choose);
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
      });
    });
    controls.forEach(function (control) { control.addEventListener("input", apply); });
    var clear = document.getElementById("clear");
    if (clear) {
      clear.addEventListener("click", function () {
        controls.forEach(function (control) { control.value = ""; });
        apply();
      });
    }
    order();
    apply();
  }

  Array.prototype.slice.call(document.querySelectorAll("table[data-filterable]")).forEach(setUp);
  // Whether the page is wider than the window (a test reads this: a page must fit).
  if (root.scrollWidth > window.innerWidth + 1) { root.dataset.wide = String(root.scrollWidth); }
  root.dataset.ready = "yes";
})();
